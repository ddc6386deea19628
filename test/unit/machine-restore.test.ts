// Restoring a sandbox actor from its stored record (node restart), verified on
// xstate 5.33: `resolveState` + `createActor(machine, { snapshot })` runs no
// entry action and writes nothing, and the actor accepts events afterwards.
import { describe, expect, it, vi } from "vitest";
import { createEmptyActor } from "xstate";
import { InternalError } from "../../src/errors.js";
import { createRestoredActor, isRestorable, restoreSnapshot } from "../../machines/sandbox/restore.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { createHarness, useHarnesses, LIMITS, RESUME_OUTPUT, type Harness } from "../helpers/sandbox-machine.js";

const T0 = Date.UTC(2030, 0, 1);
const track = useHarnesses(T0);

function restored(...args: Parameters<typeof makeStoredSandbox>): Harness {
  const h = createHarness(makeStoredSandbox(...args), { restore: true });
  return track(h);
}

describe("restore", () => {
  it("restores running without a write or a driver call, and accepts events after", async () => {
    const h = restored({ state: "running", revision: 12 });
    const s = h.actor.getSnapshot();
    expect([s.value, s.status, s.context.writing, s.context.persisted.revision]).toEqual(["running", "active", null, 12]);
    expect(h.writes).toEqual([]);
    expect((["start", "pause", "resume", "remove"] as const).map((op) => h.callCount(op))).toEqual([0, 0, 0, 0]);
    h.actor.send({ type: "PAUSE" });
    (await h.call("pause")).resolve();
    await h.settled("paused");
    expect(h.writes.map((w) => [w.event, w.from])).toEqual([
      ["pause", "running"],
      ["paused", "pausing"],
    ]);
  });

  it("restores paused and resumes it", async () => {
    const h = restored({ state: "paused", endAt: null });
    expect(h.actor.getSnapshot().value).toBe("paused");
    h.actor.send({ type: "RESUME" });
    (await h.call("resume")).resolve(RESUME_OUTPUT);
    const s = await h.settled("running");
    expect(s.context.record.endAt).toBe(T0 + 300_000);
  });

  it("restores killed as a done actor", () => {
    const h = restored({ state: "killed", endAt: null, killReason: "timeout" });
    expect([h.actor.getSnapshot().value, h.actor.getSnapshot().status]).toEqual(["killed", "done"]);
  });

  it("trap: after timers are not re-armed on restore — the deadline comes from the record", async () => {
    // The node was down when endAt passed: the restored actor has no timer of its own...
    const h = restored({ state: "running", endAt: T0 - 5_000 });
    expect(vi.getTimerCount()).toBe(0);
    // ...and the host's TIMEOUT, armed from record.endAt, is decided on the restored record.
    h.actor.send({ type: "TIMEOUT" });
    await h.until((snap) => snap.value === "killing");
    expect(h.writes.map((w) => [w.event, w.record.killReason])).toEqual([["timeout", "timeout"]]);
  });

  it.each(["starting", "pausing", "resuming", "killing"] as const)("refuses the transient state %s (reconcile first)", (state) => {
    expect(isRestorable(state)).toBe(false);
    const record = makeStoredSandbox({ state });
    expect(() => restoreSnapshot(record, { writer: createEmptyActor(), limits: LIMITS })).toThrow(InternalError);
    expect(() => restoreSnapshot(record, { writer: createEmptyActor(), limits: LIMITS })).toThrow(/reconcile/);
  });

  it("createRestoredActor is the same restore", () => {
    const actor = createRestoredActor(makeStoredSandbox({ state: "paused", endAt: null }), { writer: createEmptyActor(), limits: LIMITS });
    actor.start();
    expect(actor.getSnapshot().value).toBe("paused");
    actor.stop();
  });
});
