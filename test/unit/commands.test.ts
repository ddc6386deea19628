// Preconditions of API commands against the current record (DESIGN.md,
// "Exact behaviours"): the full op x state x expiration matrix, and the
// machine event each command becomes.
import { describe, expect, it } from "vitest";
import { checkCommand, commandEvent, type CommandDecision, type CommandOp } from "../../machines/sandbox/commands.js";
import type { SandboxState } from "../../src/schema/record.js";
import { SANDBOX_STATES } from "../../src/schema/record.js";
import { makeStoredSandbox } from "../helpers/records.js";

type Kind = CommandDecision["kind"] | "gone" | "conflict";

/** Expected outcome per op, per state, for a ttl sandbox. */
const TTL: Record<CommandOp, Record<SandboxState, Kind>> = {
  kill: { starting: "proceed", running: "proceed", pausing: "proceed", paused: "proceed", resuming: "proceed", killing: "noop", killed: "noop" },
  pause: { starting: "wait", running: "proceed", pausing: "wait", paused: "noop", resuming: "wait", killing: "gone", killed: "gone" },
  resume: { starting: "wait", running: "noop", pausing: "wait", paused: "proceed", resuming: "wait", killing: "gone", killed: "gone" },
  connect: { starting: "wait", running: "proceed", pausing: "wait", paused: "proceed", resuming: "wait", killing: "gone", killed: "gone" },
  set_timeout: { starting: "wait", running: "proceed", pausing: "wait", paused: "proceed", resuming: "wait", killing: "gone", killed: "gone" },
  refresh: { starting: "wait", running: "proceed", pausing: "wait", paused: "noop", resuming: "wait", killing: "gone", killed: "gone" },
};

/** Differences for a manual sandbox. */
const MANUAL: Partial<Record<CommandOp, Partial<Record<SandboxState, Kind>>>> = {
  connect: { running: "noop" },
  set_timeout: { starting: "conflict", running: "conflict", pausing: "conflict", paused: "conflict", resuming: "conflict" },
  refresh: { starting: "conflict", running: "conflict", pausing: "conflict", paused: "conflict", resuming: "conflict" },
};

function kindOf(decision: CommandDecision): Kind {
  if (decision.kind !== "error") return decision.kind;
  return decision.error.code === "gone" ? "gone" : decision.error.code === "conflict" ? "conflict" : "error";
}

const cases = (Object.keys(TTL) as CommandOp[]).flatMap((op) =>
  SANDBOX_STATES.flatMap((state) =>
    (["ttl", "manual"] as const).map((expiration) => {
      const expected = expiration === "manual" ? (MANUAL[op]?.[state] ?? TTL[op][state]) : TTL[op][state];
      return [op, state, expiration, expected] as const;
    }),
  ),
);

describe("checkCommand", () => {
  it.each(cases)("%s on %s (%s) -> %s", (op, state, expiration, expected) => {
    const record = makeStoredSandbox({ state, expiration, endAt: null });
    expect(kindOf(checkCommand(record, op))).toBe(expected);
  });

  it("gone names the sandbox and its state; status 410", () => {
    const record = makeStoredSandbox({ state: "killed", endAt: null });
    const decision = checkCommand(record, "pause");
    expect(decision.kind).toBe("error");
    if (decision.kind !== "error") return;
    expect(decision.error.status).toBe(410);
    expect(decision.error.message).toContain(record.sandboxId);
    expect(decision.error.message).toContain("killed");
  });

  it("manual set_timeout/refresh answer conflict 'sandbox has no automatic expiration'; gone wins on a killed one", () => {
    const manual = makeStoredSandbox({ expiration: "manual", endAt: null });
    const decision = checkCommand(manual, "refresh");
    expect(decision.kind === "error" && [decision.error.status, decision.error.message]).toEqual([409, "sandbox has no automatic expiration"]);
    expect(kindOf(checkCommand({ ...manual, state: "killed" }, "set_timeout"))).toBe("gone");
  });
});

describe("commandEvent", () => {
  const running = makeStoredSandbox({ state: "running", timeoutMs: 120_000 });
  const paused = makeStoredSandbox({ state: "paused", endAt: null });

  it("maps each op to its machine event", () => {
    expect(commandEvent(running, { op: "kill" })).toEqual({ type: "KILL", reason: "request" });
    expect(commandEvent(running, { op: "pause" })).toEqual({ type: "PAUSE" });
    expect(commandEvent(paused, { op: "resume", timeoutMs: 5_000 })).toEqual({ type: "RESUME", timeoutMs: 5_000 });
    expect(commandEvent(running, { op: "set_timeout", timeoutMs: 0 })).toEqual({ type: "SET_TIMEOUT", timeoutMs: 0 });
  });

  it("refresh without a duration refreshes by 60000, never 0", () => {
    expect(commandEvent(running, { op: "refresh" })).toEqual({ type: "REFRESH", durationMs: 60_000 });
    expect(commandEvent(running, { op: "refresh", durationMs: 10 })).toEqual({ type: "REFRESH", durationMs: 10 });
  });

  it("connect resumes a paused sandbox and only extends a running one", () => {
    expect(commandEvent(paused, { op: "connect", timeoutMs: 9_000 })).toEqual({ type: "RESUME", timeoutMs: 9_000 });
    expect(commandEvent(running, { op: "connect", timeoutMs: 9_000 })).toEqual({ type: "REFRESH", durationMs: 9_000 });
    expect(commandEvent(running, { op: "connect" })).toEqual({ type: "REFRESH", durationMs: 120_000 });
  });
});
