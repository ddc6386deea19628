// Regression tests named after the traps of DESIGN.md ("Known traps") that the
// sandbox machine closes, plus its in-memory behaviours (activity, flush,
// kill during start, pause retry).
import { describe, expect, it, vi } from "vitest";
import type { StoredSandbox } from "../../src/schema/record.js";
import { makeStoredSandbox, type StoredSandboxOverrides } from "../helpers/records.js";
import { createHarness, useHarnesses, RESUME_OUTPUT, START_OUTPUT, startingRecord, type Harness, type HarnessOptions } from "../helpers/sandbox-machine.js";

const T0 = Date.UTC(2030, 0, 1);
const PAUSE_ON_TIMEOUT = { onTimeout: "pause", autoResume: false, idle: false } as const;
const track = useHarnesses(T0);

function harness(record: StoredSandbox, options: HarnessOptions = {}): Harness {
  const h = createHarness(record, options);
  return track(h);
}
function runningHarness(overrides: StoredSandboxOverrides = {}, options: HarnessOptions = {}): Harness {
  return harness(makeStoredSandbox({ state: "running", ...overrides }), { restore: true, ...options });
}

describe("known traps", () => {
  it("trap: split ownership — one machine decides every write, in order, each from the previous state", async () => {
    const h = harness(startingRecord());
    (await h.call("start")).resolve(START_OUTPUT);
    await h.settled("running");
    h.actor.send({ type: "PAUSE" });
    (await h.call("pause")).resolve();
    await h.settled("paused");
    h.actor.send({ type: "RESUME" });
    (await h.call("resume")).resolve(RESUME_OUTPUT);
    await h.settled("running");
    h.actor.send({ type: "SET_TIMEOUT", timeoutMs: 1_000 });
    h.actor.send({ type: "KILL", reason: "request" });
    (await h.call("remove")).resolve();
    await h.settled("killed");
    const chain = h.writes.map((w) => `${w.from}>${w.record.state}:${w.event}`);
    expect(chain).toEqual([
      "starting>running:started",
      "running>pausing:pause",
      "pausing>paused:paused",
      "paused>resuming:resume",
      "resuming>running:resumed",
      "running>running:set_timeout",
      "running>killing:kill",
      "killing>killed:killed",
    ]);
  });

  it("trap: stale pause decision — a TIMEOUT after set_timeout extended the deadline does nothing", async () => {
    for (const lifecycle of [PAUSE_ON_TIMEOUT, { ...PAUSE_ON_TIMEOUT, onTimeout: "kill" as const }]) {
      const h = runningHarness({ endAt: T0 + 1_000, lifecycle });
      vi.setSystemTime(T0 + 500);
      h.actor.send({ type: "SET_TIMEOUT", timeoutMs: 60_000 });
      await h.settled("running");
      // The timer armed for the old endAt fires late: the decision is re-checked against the current record.
      vi.setSystemTime(T0 + 1_000);
      h.actor.send({ type: "TIMEOUT" });
      expect(h.actor.getSnapshot().value).toBe("running");
      expect(h.writes.map((w) => w.event)).toEqual(["set_timeout"]);
      vi.setSystemTime(T0 + 500 + 60_000);
      h.actor.send({ type: "TIMEOUT" });
      await h.until((snap) => snap.value === (lifecycle.onTimeout === "pause" ? "pausing" : "killing"));
    }
  });

  it("trap: stale pause decision — a failed timeout pause is not retried once the deadline was extended", async () => {
    const h = runningHarness({ endAt: T0, lifecycle: PAUSE_ON_TIMEOUT });
    h.actor.send({ type: "TIMEOUT" });
    (await h.call("pause")).reject(new Error("busy"));
    await h.settled("running");
    h.actor.send({ type: "REFRESH", durationMs: 60_000 });
    await vi.advanceTimersByTimeAsync(60_000 - 1);
    expect(h.callCount("pause")).toBe(1);
    expect(h.actor.getSnapshot().value).toBe("running");
    // The retry was dropped, so the next deadline pauses again.
    vi.setSystemTime(T0 + 60_000);
    h.actor.send({ type: "TIMEOUT" });
    await h.until((snap) => snap.value === "pausing");
  });

  it("trap: terminal states never expire — killed has no deadline and a killed actor never writes again", async () => {
    const h = runningHarness({ endAt: T0 + 10 });
    h.actor.send({ type: "KILL", reason: "request" });
    (await h.call("remove")).resolve();
    const s = await h.settled("killed");
    expect(s.status).toBe("done");
    expect(s.context.record.endAt).toBeNull();
    const writes = h.writes.length;
    await vi.advanceTimersByTimeAsync(86_400_000);
    expect(h.writes.length).toBe(writes);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("trap: lost update — a reply can only carry the persisted record (decided is not written)", async () => {
    const h = runningHarness({ revision: 7 }, { ack: false });
    const before = h.actor.getSnapshot().context.persisted;
    vi.setSystemTime(T0 + 1_000);
    h.actor.send({ type: "SET_TIMEOUT", timeoutMs: 5_000 });
    let ctx = h.actor.getSnapshot().context;
    // Decided and sent, not applied: the machine's record is still the stored one.
    expect([ctx.writing?.record.endAt, ctx.record.endAt, ctx.persisted]).toEqual([T0 + 6_000, before.endAt, before]);
    const written = h.writes[0]!;
    h.actor.send({ type: "persisted", record: { ...written.record, revision: 8 } });
    ctx = h.actor.getSnapshot().context;
    expect([ctx.writing, ctx.persisted.endAt, ctx.persisted.revision, ctx.record.endAt, ctx.record.revision]).toEqual([null, T0 + 6_000, 8, T0 + 6_000, 8]);
    // A late duplicate ack (no write in flight) changes nothing.
    h.actor.send({ type: "persisted", record: { ...written.record, revision: 7 } });
    expect(h.actor.getSnapshot().context.persisted.revision).toBe(8);
  });

  it("no success without a write — a failed write leaves the machine where its record is", async () => {
    const h = runningHarness({}, { ack: false });
    const stored = h.actor.getSnapshot().context.persisted;
    h.actor.send({ type: "REFRESH", durationMs: 600_000 });
    const error = new Error("no responders");
    h.actor.send({ type: "persist.failed", error });
    let ctx = h.actor.getSnapshot().context;
    expect([ctx.writing, ctx.failedWrites, ctx.persistError, ctx.record, ctx.persisted]).toEqual([null, 1, error, stored, stored]);
    // A failed intent moves nothing either, and the driver is never called.
    h.actor.send({ type: "PAUSE" });
    h.actor.send({ type: "persist.failed", error });
    h.actor.send({ type: "KILL", reason: "request" });
    h.actor.send({ type: "persist.failed", error });
    await vi.advanceTimersByTimeAsync(60_000);
    ctx = h.actor.getSnapshot().context;
    expect([h.actor.getSnapshot().value, ctx.failedWrites, ctx.pauseRetry, ctx.killRequested, ctx.record]).toEqual(["running", 3, null, null, stored]);
    expect((["pause", "remove"] as const).map((op) => h.callCount(op))).toEqual([0, 0]);
    expect(h.writes.map((w) => w.event)).toEqual(["refresh", "pause", "kill"]);
  });

  it("a KILL while a write is in flight waits for its answer, then is written (stored or not)", async () => {
    for (const answer of ["persisted", "persist.failed"] as const) {
      const h = runningHarness({}, { ack: false });
      h.actor.send({ type: "SET_TIMEOUT", timeoutMs: 60_000 });
      h.actor.send({ type: "KILL", reason: "container_exited" });
      expect(h.writes.map((w) => w.event)).toEqual(["set_timeout"]);
      h.actor.send(answer === "persisted" ? { type: "persisted", record: { ...h.writes[0]!.record, revision: 2 } } : { type: "persist.failed", error: new Error("x") });
      expect(h.writes.map((w) => [w.event, w.record.killReason])).toEqual([
        ["set_timeout", null],
        ["container_exited", "container_exited"],
      ]);
      expect(h.actor.getSnapshot().value).toBe("running");
    }
  });

  it("write-ahead — an outcome is stored before the machine leaves the transient state", async () => {
    const h = runningHarness({}, { ack: false });
    h.actor.send({ type: "PAUSE" });
    h.actor.send({ type: "persisted", record: { ...h.writes[0]!.record, revision: 2 } });
    (await h.call("pause")).resolve();
    await h.until((snap) => snap.context.writing !== null);
    expect([h.actor.getSnapshot().value, h.writes.at(-1)?.event]).toEqual(["pausing", "paused"]);
    // The outcome's write failed: the machine stays in pausing (the host reconciles it from the container).
    h.actor.send({ type: "persist.failed", error: new Error("timeout") });
    expect([h.actor.getSnapshot().value, h.actor.getSnapshot().context.persisted.state]).toEqual(["pausing", "pausing"]);
  });

  it("trap: sweeper polling — a running sandbox holds no timer in the machine (the host arms one from endAt)", async () => {
    const h = harness(startingRecord());
    (await h.call("start")).resolve(START_OUTPUT);
    await h.settled("running");
    // Entering running arms the pause-retry `after`; with no failure its delay is 0 and it fires at once, as a no-op.
    await vi.advanceTimersByTimeAsync(0);
    expect(vi.getTimerCount()).toBe(0);
    expect(h.actor.getSnapshot().value).toBe("running");
    // Only a failed pause keeps one (its backoff retry).
    h.actor.send({ type: "PAUSE" });
    (await h.call("pause")).reject(new Error("busy"));
    await h.settled("running");
    expect(vi.getTimerCount()).toBe(1);
  });
});

describe("in-memory behaviours", () => {
  it("ACTIVITY changes the deadline in memory only; FLUSH writes it once", () => {
    const h = runningHarness({ lifecycle: { onTimeout: "kill", autoResume: false, idle: true } });
    vi.setSystemTime(T0 + 100_000);
    h.actor.send({ type: "ACTIVITY", at: T0 + 100_000 });
    h.actor.send({ type: "ACTIVITY", at: T0 + 90_000 });
    expect(h.actor.getSnapshot().context.record.endAt).toBe(T0 + 400_000);
    expect(h.writes).toEqual([]);
    h.actor.send({ type: "FLUSH" });
    h.actor.send({ type: "FLUSH" });
    expect(h.writes.map((w) => [w.event, w.from, w.record.endAt, w.record.lastActiveAt])).toEqual([
      ["activity", "running", T0 + 400_000, T0 + 100_000],
    ]);
  });

  it("ACTIVITY from a proxy clock ahead of the node's is capped at now", () => {
    const h = runningHarness({ lifecycle: { onTimeout: "kill", autoResume: false, idle: true } });
    h.actor.send({ type: "ACTIVITY", at: T0 + 3_600_000 });
    expect(h.actor.getSnapshot().context.record.lastActiveAt).toBe(T0);
    expect(h.actor.getSnapshot().context.record.endAt).toBe(T0 + 300_000);
  });

  it("a KILL during starting waits for the start, then kills (the first reason wins)", async () => {
    const h = harness(startingRecord());
    const start = await h.call("start");
    h.actor.send({ type: "KILL", reason: "request" });
    h.actor.send({ type: "KILL", reason: "node_lost" });
    expect(h.writes).toEqual([]);
    start.resolve(START_OUTPUT);
    // Two writes in one macrostep (started, then kill): both counted, both acknowledged.
    const s = await h.until((snap) => snap.value === "killing" && snap.context.writing === null);
    expect(s.context.persisted.state).toBe("killing");
    expect(h.writes.map((w) => [w.event, w.record.state, w.record.killReason])).toEqual([
      ["started", "running", null],
      ["kill", "killing", "request"],
    ]);
  });

  it("a KILL during a start that fails ends in killed / start_failed (no removal)", async () => {
    const h = harness(startingRecord());
    const start = await h.call("start");
    h.actor.send({ type: "KILL", reason: "request" });
    start.reject(new Error("boom"));
    const s = await h.settled("killed");
    expect(s.context.record.killReason).toBe("start_failed");
    expect(h.callCount("remove")).toBe(0);
  });

  it("a requested pause that failed is retried with a growing backoff until it succeeds", async () => {
    const h = runningHarness();
    h.actor.send({ type: "PAUSE" });
    (await h.call("pause")).reject(new Error("busy"));
    await vi.advanceTimersByTimeAsync(500);
    (await h.call("pause")).reject(new Error("busy"));
    await vi.advanceTimersByTimeAsync(999);
    expect(h.callCount("pause")).toBe(2);
    await vi.advanceTimersByTimeAsync(1);
    (await h.call("pause")).resolve();
    const s = await h.settled("paused");
    expect([s.context.record.error, s.context.record.internal.attempts]).toEqual([null, 0]);
  });

  it("a RESUME on running drops a pending pause retry (the client's latest word wins), without a write", async () => {
    const h = runningHarness();
    h.actor.send({ type: "PAUSE" });
    (await h.call("pause")).reject(new Error("busy"));
    await h.settled("running");
    const writes = h.writes.length;
    h.actor.send({ type: "RESUME" });
    await vi.advanceTimersByTimeAsync(60_000);
    expect([h.callCount("pause"), h.writes.length, h.actor.getSnapshot().value]).toEqual([1, writes, "running"]);
  });

  it("SET_TIMEOUT and REFRESH on a manual sandbox change nothing (the node answers conflict first)", () => {
    const h = runningHarness({ expiration: "manual", endAt: null });
    h.actor.send({ type: "SET_TIMEOUT", timeoutMs: 0 });
    h.actor.send({ type: "REFRESH", durationMs: 1_000 });
    h.actor.send({ type: "TIMEOUT" });
    expect([h.writes.length, h.actor.getSnapshot().value, h.actor.getSnapshot().context.record.endAt]).toEqual([0, "running", null]);
  });
});
