// Path coverage of the sandbox machine with @xstate/graph: traversing the real
// machine logic (no actors run: driver outcomes are sent as the done/error
// events xstate would produce, and the writer's answers as `persisted` /
// `persist.failed` for the write in flight) reaches every state and takes
// every transition the machine defines, and every row of the contract's
// table is realized: the row's event decides the write, its acknowledgement
// moves the machine.
import { getAdjacencyMap, getShortestPaths, toDirectedGraph, type AdjacencyMap } from "@xstate/graph";
import { describe, expect, it } from "vitest";
import { createEmptyActor, type AnyEventObject, type AnyStateNode, type SnapshotFrom, type TransitionDefinition } from "xstate";
import { MACHINE_STATES, sandboxMachine, type SandboxMachine } from "../../machines/sandbox/machine.js";
import { DRIVER_EVENTS, PAUSE_RETRY_EVENT, TRANSITIONS } from "../../machines/sandbox/transitions.js";
import type { SandboxMachineEvent } from "../../machines/sandbox/types.js";
import { isExpired } from "../../src/lifecycle/deadline.js";
import { SANDBOX_STATES } from "../../src/schema/record.js";
import { LIMITS, RESUME_OUTPUT, START_OUTPUT, startingRecord } from "../helpers/sandbox-machine.js";

type Snap = SnapshotFrom<SandboxMachine>;
type AnyDef = TransitionDefinition<never, never>;
const T = Date.UTC(2030, 0, 1);
const failure = new Error("driver failed");
const record = startingRecord({ createdAt: T });

const EVENTS = [
  { type: "PAUSE" },
  { type: "RESUME" },
  { type: "KILL", reason: "request" },
  { type: "TIMEOUT" },
  { type: "SET_TIMEOUT", timeoutMs: 0 },
  { type: "REFRESH", durationMs: 60_000 },
  { type: "ACTIVITY", at: T },
  { type: "FLUSH" },
  { type: DRIVER_EVENTS.started, output: START_OUTPUT },
  { type: DRIVER_EVENTS.startFailed, error: failure },
  { type: DRIVER_EVENTS.paused },
  { type: DRIVER_EVENTS.pauseFailed, error: failure },
  { type: DRIVER_EVENTS.resumed, output: RESUME_OUTPUT },
  { type: DRIVER_EVENTS.resumeFailed, error: failure },
  { type: DRIVER_EVENTS.removed },
  { type: DRIVER_EVENTS.removeFailed, error: failure },
  { type: PAUSE_RETRY_EVENT },
] as unknown as SandboxMachineEvent[];

/** The writer's possible answers to the write in flight (none when nothing is in flight). */
function events(s: Snap): SandboxMachineEvent[] {
  const writing = s.context.writing;
  if (!writing) return EVENTS;
  return [...EVENTS, { type: "persisted", record: { ...writing.record, revision: 99 } }, { type: "persist.failed", error: failure }];
}

/** What distinguishes behaviour (not counters or revisions, which would make the graph infinite). */
function serialize(s: Snap): string {
  const c = s.context;
  const w = c.writing;
  return JSON.stringify([s.value, s.status, c.killRequested, c.pauseRetry, c.dirty, isExpired(c.record, T), w && [w.to, w.event, isExpired(w.record, T)]]);
}

function traverse(onTimeout: "kill" | "pause"): AdjacencyMap<Snap, SandboxMachineEvent> {
  const input = {
    record: { ...record, lifecycle: { ...record.lifecycle, onTimeout } },
    writer: createEmptyActor(),
    now: () => T,
    limits: LIMITS,
  };
  return getAdjacencyMap(sandboxMachine, { input, events, serializeState: serialize });
}

interface Step {
  state: Snap;
  event: AnyEventObject;
  next: Snap;
}

const steps: Step[] = [];
for (const onTimeout of ["kill", "pause"] as const) {
  for (const { state, transitions } of Object.values(traverse(onTimeout))) {
    const outgoing = Object.values(transitions) as { event: SandboxMachineEvent; state: Snap }[];
    for (const { event, state: next } of outgoing) steps.push({ state, event, next });
  }
}

/** Every transition the machine defines: event transitions of each state and of the root, and `always`. */
function allDefinitions(): Map<AnyDef, string> {
  const defs = new Map<AnyDef, string>();
  const graph = toDirectedGraph(sandboxMachine);
  for (const node of [graph, ...graph.children]) {
    for (const edge of node.edges) defs.set(edge.transition as AnyDef, `${node.id} --${edge.label.text}--> ${edge.target.id}`);
    for (const t of node.stateNode.always ?? []) defs.set(t as AnyDef, `${node.id} --always--> ${t.target?.map((n) => n.id).join(",")}`);
  }
  return defs;
}

/** The definitions a step took, including an `always` taken right after in the same macrostep. */
function taken(step: Step): AnyDef[] {
  if (step.state.status !== "active") return [];
  const defs = sandboxMachine.getTransitionData(step.state, step.event as SandboxMachineEvent) as AnyDef[];
  const out = [...defs];
  for (const def of defs) {
    const target = (def.target as AnyStateNode[] | undefined)?.[0];
    if (!target || target.key === step.next.value) continue;
    // The macrostep entered `target` and left it at once: an `always` of `target` fired.
    for (const a of target.always ?? []) if (a.target?.[0]?.key === step.next.value) out.push(a as AnyDef);
  }
  // A targetless `always` (the remembered KILL) fired: the kill was taken from memory and its write sent.
  if (step.next.status === "active" && step.next.context.killRequested === null && step.next.context.writing?.to === "killing") {
    const remembered = step.state.context.killRequested !== null || (step.event.type === "KILL" && step.state.context.writing !== null);
    const node = sandboxMachine.root.states[String(step.next.value)];
    if (remembered) for (const a of node?.always ?? []) if (!a.target) out.push(a as AnyDef);
  }
  return out;
}

describe("machine graph (@xstate/graph)", () => {
  it("has exactly the contract's seven states, all atomic, killed final", () => {
    expect(Object.keys(sandboxMachine.root.states)).toEqual([...SANDBOX_STATES]);
    expect([...MACHINE_STATES]).toEqual([...SANDBOX_STATES]);
    for (const node of Object.values(sandboxMachine.root.states)) expect(Object.keys(node.states), node.key).toEqual([]);
    expect(sandboxMachine.root.states.killed?.type).toBe("final");
  });

  it("reaches every state on a shortest path from a new sandbox", () => {
    const input = { record, writer: createEmptyActor(), now: () => T, limits: LIMITS };
    const paths = getShortestPaths(sandboxMachine, { input, events, serializeState: serialize });
    const reached = new Set(paths.map((p) => String(p.state.value)));
    expect([...reached].sort()).toEqual([...SANDBOX_STATES].sort());
  });

  it("takes every transition the machine defines", () => {
    const defs = allDefinitions();
    const reached = new Set(steps.flatMap(taken));
    const missing = [...defs].filter(([def]) => !reached.has(def)).map(([, name]) => name);
    expect(missing).toEqual([]);
    expect(defs.size).toBeGreaterThan(20);
  });

  it("realizes every row of the transition table", () => {
    const bySource = new Map<string, Step[]>();
    for (const t of steps) {
      if (t.event.type !== "persisted" && !t.event.type.startsWith("xstate.")) continue;
      const key = serialize(t.state);
      bySource.set(key, [...(bySource.get(key) ?? []), t]);
    }
    /** States reached from `from` by writer answers and driver outcomes only (no new command), `from` included. */
    const settling = (from: Snap): Snap[] => {
      const seen = new Set([serialize(from)]);
      const out = [from];
      for (let i = 0; i < out.length; i++) {
        for (const t of bySource.get(serialize(out[i]!)) ?? []) {
          if (!seen.has(serialize(t.next))) {
            seen.add(serialize(t.next));
            out.push(t.next);
          }
        }
      }
      return out;
    };
    // The row's event decides a write towards `to` (or, during a transition, a remembered KILL), and the acknowledgement enters `to`.
    const hit = (from: string, types: readonly string[], to: string) =>
      steps.some(
        (s) =>
          s.state.value === from &&
          types.includes(s.event.type) &&
          (s.next.context.writing?.to === to || s.next.context.killRequested !== null) &&
          settling(s.next).some((n) => n.value === to),
      );
    for (const row of TRANSITIONS) {
      if (row.from === "any") {
        const same = (from: string, type: string) => steps.some((s) => s.state.value === from && s.event.type === type && s.next.value === from && s.next.context.writing === null);
        expect(same("paused", "PAUSE")).toBe(true);
        expect(same("running", "RESUME")).toBe(true);
        expect(same("killing", "KILL")).toBe(true);
        continue;
      }
      for (const from of row.from) expect(hit(from, row.on, row.to as string), `${from} --${row.event}--> ${row.to}`).toBe(true);
    }
  });

  it("moves only when a write is acknowledged, and a failed write moves nothing", () => {
    for (const s of steps) {
      if (s.state.status !== "active" || s.state.value === s.next.value) continue;
      expect(s.event.type, `${String(s.state.value)} -> ${String(s.next.value)}`).toBe("persisted");
    }
    const failures = steps.filter((s) => s.event.type === "persist.failed" && s.state.status === "active");
    expect(failures.length).toBeGreaterThan(5);
    for (const s of failures) {
      expect(s.next.value).toBe(s.state.value);
      // Nothing moves; only a KILL remembered meanwhile goes out now, as its own write.
      const live = s.state.value === "running" || s.state.value === "paused";
      if (s.state.context.killRequested === null || !live) expect(s.next.context.writing).toBeNull();
      else expect([s.next.context.writing?.to, s.next.context.killRequested]).toEqual(["killing", null]);
    }
  });

  it("has no state change the table does not list", () => {
    const allowed = new Set<string>();
    for (const row of TRANSITIONS) {
      if (row.from === "any") continue;
      for (const from of row.from) allowed.add(`${from}>${row.to}`);
    }
    // A remembered KILL applied when a transition settles passes through the settled state, with a write each:
    // pausing -> paused -> killing and resuming -> running -> killing, both listed rows.
    const changes = steps
      .filter((s) => s.state.status === "active" && s.state.value !== s.next.value)
      .map((s) => `${String(s.state.value)}>${String(s.next.value)}`);
    expect([...new Set(changes)].filter((c) => !allowed.has(c))).toEqual([]);
  });
});
