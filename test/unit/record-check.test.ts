// The write-time record check (src/store/record-check.ts): with a checked
// base only the changed fields go through the schema, and that check still
// refuses every invalid record the full schema refuses; without one (or with
// a base nobody checked) the whole record is checked.
import { describe, expect, it } from "vitest";
import type { StoredSandbox } from "../../src/schema/record.js";
import { StoredSandboxSchema } from "../../src/schema/record.js";
import { markChecked, recordProblem, withRevision } from "../../src/store/record-check.js";
import { makeStoredSandbox } from "../helpers/records.js";

/** A record the full schema accepts, marked as checked (what a KV decode or a write leaves). */
function checkedBase(): StoredSandbox {
  return markChecked(makeStoredSandbox());
}

/** Bypasses the type system: the record a buggy decide function could build. */
function broken(record: StoredSandbox, patch: Record<string, unknown>): StoredSandbox {
  return { ...record, ...patch } as unknown as StoredSandbox;
}

describe("recordProblem", () => {
  it("accepts a valid transition of a checked base", () => {
    const base = checkedBase();
    const paused = { ...base, state: "paused" as const, endAt: null, internal: { ...base.internal, attempts: 0 } };
    expect(recordProblem(paused, base)).toBeNull();
  });

  it.each([
    ["a bad state", { state: "frozen" }, "state"],
    ["a negative deadline", { endAt: -1 }, "endAt"],
    ["a fractional timeout", { timeoutMs: 1.5 }, "timeoutMs"],
    ["an unknown field", { extra: 1 }, "extra: unknown field"],
    ["a bad error object", { error: { op: "pause" } }, "error"],
    ["a bad kill reason", { killReason: "boredom" }, "killReason"],
  ])("refuses %s in a changed field, as the full schema does", (_name, patch, path) => {
    const base = checkedBase();
    const bad = broken(base, patch);
    expect(StoredSandboxSchema.safeParse(bad).success).toBe(false);
    expect(recordProblem(bad, base)).toContain(path);
  });

  it("refuses a missing field", () => {
    const base = checkedBase();
    const { metadata: _metadata, ...rest } = base;
    expect(recordProblem(rest as StoredSandbox, base)).toContain("missing fields");
  });

  it("checks the changed fields of `internal` against the base's", () => {
    const base = checkedBase();
    expect(recordProblem(broken(base, { internal: { ...base.internal, attempts: -1 } }), base)).toContain("internal.attempts");
    expect(recordProblem(broken(base, { internal: { ...base.internal, endpoint: { host: "10.0.0.2", ports: { "80": 0 } } } }), base)).toContain(
      "internal.endpoint",
    );
    expect(recordProblem(broken(base, { internal: { ...base.internal, surprise: true } }), base)).toContain("internal.surprise: unknown field");
    expect(recordProblem(broken(base, { internal: "nope" }), base)).toContain("internal");
  });

  it("checks the whole record when the base was never checked", () => {
    // An invalid field that is identical in the base and the record must still be found.
    const unchecked = broken(makeStoredSandbox(), { template: "NOT VALID" });
    const next = { ...unchecked, state: "paused" as const };
    expect(recordProblem(next, unchecked)).toContain("template");
  });

  it("checks the whole record without a base, and marks what passed", () => {
    const record = makeStoredSandbox();
    expect(recordProblem(record)).toBeNull();
    // Now a checked base: a child record is checked by its changes only.
    expect(recordProblem(broken(record, { lastActiveAt: "soon" }), record)).toContain("lastActiveAt");
    expect(recordProblem(broken(makeStoredSandbox(), { sandboxId: "x" }))).toContain("sandboxId");
  });

  it("keeps the mark across a revision change, and only for a valid revision", () => {
    const base = checkedBase();
    const stored = withRevision(base, 7);
    expect(stored.revision).toBe(7);
    expect(recordProblem(broken(stored, { template: "NOT VALID" }), stored)).toContain("template");
    // A record derived from an unmarked copy is checked whole.
    const bogus = withRevision(base, -3);
    expect(recordProblem({ ...bogus, state: "paused" }, bogus)).toContain("revision");
  });
});
