// The contract's transition table, row by row, against the real machine (fake
// driver actors, fake writer). Every row of TRANSITIONS must have a scenario
// here, and each scenario drives every source state and every machine event
// the row lists, asserting the state reached and the record written.
import { describe, expect, it, vi } from "vitest";
import { TRANSITIONS, PAUSE_RETRY_EVENT, type TransitionRow } from "../../machines/sandbox/transitions.js";
import type { SandboxState, StoredSandbox } from "../../src/schema/record.js";
import { makeStoredSandbox, type StoredSandboxOverrides } from "../helpers/records.js";
import { createHarness, useHarnesses, RESUME_OUTPUT, START_OUTPUT, startingRecord, type Harness } from "../helpers/sandbox-machine.js";

const T0 = Date.UTC(2030, 0, 1);
const track = useHarnesses(T0);

/** A harness restored in a stable state. */
function stable(state: "running" | "paused", overrides: StoredSandboxOverrides = {}): Harness {
  const base = state === "paused" ? { endAt: null } : {};
  return track(createHarness(makeStoredSandbox({ state, ...base, ...overrides }), { restore: true }));
}

function last(h: Harness) {
  const write = h.writes.at(-1);
  if (!write) throw new Error("no write");
  return write;
}

/** Drives a harness into a transient state; returns it with the driver call pending. */
async function transient(state: "pausing" | "resuming" | "killing", overrides: StoredSandboxOverrides = {}) {
  if (state === "resuming") {
    const h = stable("paused", overrides);
    h.actor.send({ type: "RESUME" });
    return { h, call: await h.call("resume") };
  }
  const h = stable("running", overrides);
  h.actor.send(state === "pausing" ? { type: "PAUSE" } : { type: "KILL", reason: "request" });
  return { h, call: await h.call(state === "pausing" ? "pause" : "remove") };
}

function expectDeadlineFromNow(record: StoredSandbox, now: number) {
  expect(record.startedAt).toBe(now);
  expect(record.endAt).toBe(now + record.timeoutMs);
  expect(record.lastActiveAt).toBe(now);
}

type Scenario = (row: TransitionRow) => Promise<void>;

const SCENARIOS: Record<string, Scenario> = {
  "starting|driver started": async () => {
    const h = track(createHarness(startingRecord()));
    vi.setSystemTime(T0 + 150);
    (await h.call("start")).resolve(START_OUTPUT);
    const s = await h.settled("running");
    const w = last(h);
    expect([w.event, w.from, w.record.state]).toEqual(["started", "starting", "running"]);
    expectDeadlineFromNow(w.record, T0 + 150);
    expect(w.record.internal).toMatchObject({ handle: "container-1", endpoint: START_OUTPUT.endpoint, attempts: 0 });
    expect(s.context.persisted.revision).toBe(2);
  },
  "starting|driver failed": async () => {
    const h = track(createHarness(startingRecord()));
    (await h.call("start")).reject(new Error("image corral/base:latest not found"));
    await h.settled("killed");
    const w = last(h);
    expect([w.event, w.record.state, w.record.killReason]).toEqual(["start_failed", "killed", "start_failed"]);
    expect(w.record.error).toEqual({ op: "start", message: "image corral/base:latest not found", at: T0 });
    expect(w.record.internal.killedAt).toBe(T0);
    expect(w.record.endAt).toBeNull();
  },
  "running|PAUSE (API or timeout with onTimeout=pause)": async (row) => {
    expect(row.on).toEqual(["PAUSE", "TIMEOUT", PAUSE_RETRY_EVENT]);
    // PAUSE from the API.
    const a = stable("running");
    a.actor.send({ type: "PAUSE" });
    // Write-ahead: the machine moves once the intent is stored, and only then calls the driver.
    expect([a.actor.getSnapshot().value, a.callCount("pause")]).toEqual(["running", 0]);
    await a.until((s) => s.value === "pausing");
    expect([last(a).event, last(a).record.state]).toEqual(["pause", "pausing"]);
    // TIMEOUT with onTimeout=pause and the deadline passed.
    const b = stable("running", { endAt: T0, lifecycle: { onTimeout: "pause", autoResume: false, idle: false } });
    b.actor.send({ type: "TIMEOUT" });
    await b.until((s) => s.value === "pausing");
    expect([last(b).event, last(b).record.state]).toEqual(["timeout", "pausing"]);
    // The backoff retry after a failed pause.
    (await a.call("pause")).reject(new Error("busy"));
    await a.settled("running");
    await vi.advanceTimersByTimeAsync(500);
    await a.until((s) => s.value === "pausing");
    expect([last(a).event, last(a).record.internal.attempts]).toEqual(["pause", 1]);
  },
  "pausing|driver paused": async () => {
    const { h, call } = await transient("pausing");
    call.resolve();
    await h.settled("paused");
    const w = last(h);
    expect([w.event, w.from, w.record.state, w.record.endAt, w.record.error]).toEqual(["paused", "pausing", "paused", null, null]);
    expect(w.record.timeoutMs).toBe(300_000);
    const endpoint = { host: "172.17.0.9", ports: {} };
    // A frozen sandbox keeps its address; one that gave it back (a stopped container) has none while paused.
    for (const [endpointKept, expected] of [[true, endpoint], [false, null]] as const) {
      const t = await transient("pausing", { internal: { endpoint } });
      t.call.resolve({ endpointKept });
      await t.h.settled("paused");
      expect(last(t.h).record.internal.endpoint).toEqual(expected);
    }
  },
  "pausing|driver failed": async () => {
    const { h, call } = await transient("pausing");
    const endAt = h.actor.getSnapshot().context.record.endAt;
    call.reject(new Error("freezer busy"));
    await h.settled("running");
    const w = last(h);
    expect([w.event, w.record.state, w.record.endAt, w.record.internal.attempts]).toEqual(["pause_failed", "running", endAt, 1]);
    expect(w.record.error).toEqual({ op: "pause", message: "freezer busy", at: T0 });
    // Retried with backoff, not before.
    await vi.advanceTimersByTimeAsync(499);
    expect(h.callCount("pause")).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(h.callCount("pause")).toBe(2);
  },
  "paused|RESUME (API, connect, or proxy auto-resume)": async () => {
    const h = stable("paused");
    h.actor.send({ type: "RESUME", timeoutMs: 60_000 });
    await h.until((s) => s.value === "resuming");
    expect([last(h).event, last(h).from, last(h).record.state, last(h).record.timeoutMs]).toEqual(["resume", "paused", "resuming", 60_000]);
  },
  "resuming|driver resumed": async () => {
    const { h, call } = await transient("resuming");
    vi.setSystemTime(T0 + 5_000);
    call.resolve(RESUME_OUTPUT);
    await h.settled("running");
    const w = last(h);
    expect([w.event, w.record.state, w.record.error]).toEqual(["resumed", "running", null]);
    expectDeadlineFromNow(w.record, T0 + 5_000);
    expect(w.record.internal.endpoint).toEqual(RESUME_OUTPUT.endpoint);
  },
  "resuming|driver failed": async () => {
    const { h, call } = await transient("resuming");
    call.reject(new Error("no such container"));
    await h.settled("paused");
    const w = last(h);
    expect([w.event, w.record.state, w.record.endAt]).toEqual(["resume_failed", "paused", null]);
    expect(w.record.error).toEqual({ op: "resume", message: "no such container", at: T0 });
  },
  "running,paused,pausing,resuming|KILL": async (row) => {
    expect(row.from).toEqual(["running", "paused", "pausing", "resuming"]);
    for (const state of ["running", "paused"] as const) {
      const h = stable(state);
      h.actor.send({ type: "KILL", reason: "request" });
      await h.until((s) => s.value === "killing");
      expect([last(h).event, last(h).from, last(h).record.killReason, last(h).record.endAt]).toEqual(["kill", state, "request", null]);
    }
    // During a transition: nothing is written until it settles, then it kills.
    for (const [state, settle] of [["pausing", "paused"], ["resuming", "running"]] as const) {
      const { h, call } = await transient(state);
      const before = h.writes.length;
      h.actor.send({ type: "KILL", reason: "container_exited" });
      expect(h.actor.getSnapshot().value).toBe(state);
      expect(h.writes.length).toBe(before);
      call.resolve(state === "resuming" ? RESUME_OUTPUT : undefined);
      await h.until((s) => s.value === "killing");
      expect(h.writes.slice(before).map((w) => [w.event, w.record.state])).toEqual([
        [state === "pausing" ? "paused" : "resumed", settle],
        ["container_exited", "killing"],
      ]);
      expect(last(h).record.killReason).toBe("container_exited");
    }
    // TIMEOUT with onTimeout=kill is a kill with reason timeout.
    const t = stable("running", { endAt: T0 - 1 });
    t.actor.send({ type: "TIMEOUT" });
    expect([last(t).event, last(t).record.state, last(t).record.killReason]).toEqual(["timeout", "killing", "timeout"]);
  },
  "killing|driver removed": async () => {
    const { h, call } = await transient("killing");
    expect(call.input.delayMs).toBe(0);
    call.reject(new Error("device busy"));
    const retry = await h.call("remove");
    expect(h.actor.getSnapshot().value).toBe("killing");
    expect([last(h).event, last(h).record.state, last(h).record.internal.attempts]).toEqual(["remove_failed", "killing", 1]);
    expect(last(h).record.error).toEqual({ op: "remove", message: "device busy", at: T0 });
    expect(retry.input.delayMs).toBe(500);
    vi.setSystemTime(T0 + 700);
    retry.resolve();
    await h.settled("killed");
    const w = last(h);
    expect([w.event, w.record.state, w.record.killReason, w.record.error, w.record.endAt]).toEqual(["killed", "killed", "request", null, null]);
    expect(w.record.internal.killedAt).toBe(T0 + 700);
  },
  "any|PAUSE/RESUME/KILL already in that state": async () => {
    const cases: [SandboxState, Harness, { type: "PAUSE" } | { type: "RESUME" } | { type: "KILL"; reason: "request" }][] = [];
    const paused = stable("paused");
    cases.push(["paused", paused, { type: "PAUSE" }]);
    const running = stable("running");
    cases.push(["running", running, { type: "RESUME" }]);
    const { h: killing } = await transient("killing");
    cases.push(["killing", killing, { type: "KILL", reason: "request" }]);
    const { h: pausing } = await transient("pausing");
    cases.push(["pausing", pausing, { type: "PAUSE" }]);
    for (const [state, h, event] of cases) {
      await h.until((s) => s.context.writing === null);
      const before = { writes: h.writes.length, revision: h.actor.getSnapshot().context.persisted.revision };
      h.actor.send(event);
      const s = h.actor.getSnapshot();
      expect(s.value, `${event.type} in ${state}`).toBe(state);
      expect(h.writes.length, `${event.type} in ${state} wrote`).toBe(before.writes);
      expect(s.context.persisted.revision).toBe(before.revision);
    }
    // Killed is final: a restored killed actor is done, takes no event and writes nothing
    // (the node answers a kill on it from checkCommand without sending anything).
    const killed = track(createHarness(makeStoredSandbox({ state: "killed", endAt: null, killReason: "request" }), { restore: true }));
    expect([killed.actor.getSnapshot().value, killed.actor.getSnapshot().status, killed.writes.length]).toEqual(["killed", "done", 0]);
  },
};

function key(row: TransitionRow): string {
  return `${row.from === "any" ? "any" : row.from.join(",")}|${row.event.startsWith("KILL") ? "KILL" : row.event}`;
}

describe("transition table (DESIGN.md, Lifecycle)", () => {
  it("has a scenario for every row and no scenario without a row", () => {
    expect(Object.keys(SCENARIOS).sort()).toEqual(TRANSITIONS.map(key).sort());
  });

  it.each(TRANSITIONS.map((row) => [`${key(row)} -> ${row.to}`, row] as const))("%s", async (_name, row) => {
    const scenario = SCENARIOS[key(row)];
    if (!scenario) throw new Error(`no scenario for row ${key(row)}`);
    await scenario(row);
  });
});
