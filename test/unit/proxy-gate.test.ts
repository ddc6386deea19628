// The proxy gate (issue 6): the contract's table as data, in its order of checks.
import { describe, expect, it } from "vitest";
import { decide } from "../../actors/proxy/gate.js";
import type { SandboxState } from "../../src/schema/record.js";
import { hashTrafficToken, newTrafficToken } from "../../src/traffic-token.js";
import { makeStoredSandbox } from "../helpers/records.js";

const token = newTrafficToken();
const tokenHash = hashTrafficToken(token);

type Row = [state: SandboxState, autoResume: boolean, action: string, status?: number];
const TABLE: Row[] = [
  ["running", false, "forward"],
  ["running", true, "forward"],
  ["starting", false, "wait"],
  ["resuming", false, "wait"],
  ["pausing", true, "wait"],
  ["paused", true, "resume"],
  ["paused", false, "reject", 409],
  ["killing", true, "reject", 410],
  ["killed", false, "reject", 410],
];

describe("gate decision table", () => {
  it.each(TABLE)("%s (autoResume %s) -> %s %s", (state, autoResume, action, status) => {
    const record = makeStoredSandbox({ state, lifecycle: { onTimeout: "kill", autoResume, idle: false }, internal: { secure: true, tokenHash } });
    const d = decide(record, token);
    expect(d.action).toBe(action);
    if (status !== undefined) expect(d).toMatchObject({ status });
  });

  it("answers 409 with the contract's message for a paused sandbox", () => {
    expect(decide(makeStoredSandbox({ state: "paused", internal: { secure: false } }), undefined)).toEqual({ action: "reject", status: 409, message: "sandbox is paused" });
  });

  it("answers 404 for an unknown sandbox", () => {
    expect(decide(undefined, token)).toMatchObject({ action: "reject", status: 404 });
  });

  it.each<SandboxState>(["running", "paused", "killed", "resuming"])("checks the token before the state (%s, no token -> 403)", (state) => {
    const record = makeStoredSandbox({ state, lifecycle: { onTimeout: "kill", autoResume: true, idle: false }, internal: { secure: true, tokenHash } });
    expect(decide(record, undefined)).toMatchObject({ action: "reject", status: 403 });
    expect(decide(record, newTrafficToken())).toMatchObject({ action: "reject", status: 403 });
    expect(decide(record, "")).toMatchObject({ action: "reject", status: 403 });
  });

  it("admits nobody to a secure sandbox without a token hash", () => {
    expect(decide(makeStoredSandbox({ internal: { secure: true, tokenHash: null } }), token)).toMatchObject({ status: 403 });
  });

  it("remembers a verified token per record without weakening the check", () => {
    const record = makeStoredSandbox({ internal: { secure: true, tokenHash } });
    expect(decide(record, token).action).toBe("forward");
    expect(decide(record, token).action).toBe("forward");
    // Same length, one character off; then another token entirely.
    const off = token.slice(0, -1) + (token.endsWith("A") ? "B" : "A");
    expect(decide(record, off)).toMatchObject({ status: 403 });
    expect(decide(record, newTrafficToken())).toMatchObject({ status: 403 });
    // A record whose hash changed in place never admits the remembered token.
    const other = newTrafficToken();
    record.internal.tokenHash = hashTrafficToken(other);
    expect(decide(record, token)).toMatchObject({ status: 403 });
    expect(decide(record, other).action).toBe("forward");
  });

  it("ignores tokens for a sandbox created with secure: false", () => {
    const record = makeStoredSandbox({ internal: { secure: false, tokenHash } });
    expect(decide(record, undefined).action).toBe("forward");
    expect(decide(record, "wrong").action).toBe("forward");
  });
});
