// The visualizer's chart comes from the machine definition itself
// (actors/ui/machine-graph.ts) and is laid out by elkjs
// (actors/ui/chart-layout.ts): every state and every transition of the real
// sandbox machine is in it, and the layout is drawable.
import { describe, expect, it } from "vitest";
import { createMachine } from "xstate";
import { layoutChart } from "../../actors/ui/chart-layout.js";
import { eventLabel, machineGraph } from "../../actors/ui/machine-graph.js";
import { DRIVER_EVENTS, PAUSE_RETRY_EVENT, TRANSITIONS } from "../../machines/sandbox/transitions.js";
import { MACHINE_STATES, sandboxMachine } from "../../machines/sandbox/machine.js";

const graph = machineGraph(sandboxMachine);

describe("machineGraph(sandboxMachine)", () => {
  it("has the machine's states in its order, starting initial and killed final", () => {
    expect(graph.nodes.map((n) => n.id)).toEqual([...MACHINE_STATES]);
    expect(graph.initial).toBe("starting");
    expect(graph.nodes.filter((n) => n.initial).map((n) => n.id)).toEqual(["starting"]);
    expect(graph.nodes.filter((n) => n.final).map((n) => n.id)).toEqual(["killed"]);
  });

  it("shows every row of the contract's table that changes state: as an arrow, or handled in place (a deferred kill)", () => {
    for (const row of TRANSITIONS) {
      if (row.from === "any" || row.to === "same") continue;
      for (const from of row.from) {
        // The machine moves when the write its event decided is stored: the arrow is that acknowledgement, labelled with the row.
        const arrow = graph.edges.some((e) => e.source === from && e.target === row.to && e.event === "persisted" && e.label === `${row.event} (stored)`);
        // A KILL during a transition is remembered and taken by `always [killRequested]` once it settles.
        const deferred = graph.nodes.find((n) => n.id === from)!.internal.some((label) => row.on.includes(label));
        expect(arrow || deferred, `${from} -> ${row.to} on ${row.on.join("|")}`).toBe(true);
      }
    }
    expect(graph.nodes.filter((n) => n.internal.includes("always [killRequested]")).map((n) => n.id)).toEqual(["running", "paused"]);
  });

  it("labels machine events in operator terms, with guards", () => {
    expect(eventLabel(DRIVER_EVENTS.started)).toBe("start done");
    expect(eventLabel(DRIVER_EVENTS.removeFailed)).toBe("remove failed");
    expect(eventLabel(PAUSE_RETRY_EVENT)).toBe("after pauseRetryDelay");
    expect(graph.nodes.find((n) => n.id === "running")?.internal).toContain("TIMEOUT [expiredToKill]");
    expect(graph.nodes.find((n) => n.id === "running")?.internal).toContain("SET_TIMEOUT [hasTtl]");
  });

  it("follows the definition it is given (a different machine, a different graph)", () => {
    const toy = createMachine({ id: "toy", initial: "a", states: { a: { on: { GO: "b", STAY: {} } }, b: { type: "final" } } });
    expect(machineGraph(toy)).toEqual({
      machineId: "toy",
      initial: "a",
      nodes: [
        { id: "a", initial: true, final: false, internal: ["STAY"] },
        { id: "b", initial: false, final: true, internal: [] },
      ],
      edges: [{ source: "a", target: "b", event: "GO", guard: null, label: "GO" }],
    });
  });
});

describe("layoutChart", () => {
  it("places every state without overlap and routes every transition once", async () => {
    const chart = await layoutChart(graph);
    expect(chart.nodes.map((n) => n.id)).toEqual(graph.nodes.map((n) => n.id));
    for (const a of chart.nodes) {
      expect(a.x + a.width).toBeLessThanOrEqual(chart.width);
      expect(a.y + a.height).toBeLessThanOrEqual(chart.height);
      for (const b of chart.nodes) {
        if (a === b) continue;
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${a.id} overlaps ${b.id}`).toBe(true);
      }
    }
    const drawn = chart.edges.flatMap((e) => e.transitions.map((t) => `${e.source}>${e.target}:${t.label}`));
    expect(drawn.sort()).toEqual(graph.edges.map((e) => `${e.source}>${e.target}:${e.label}`).sort());
    // One arrow per pair of states, each routed and labelled.
    expect(new Set(chart.edges.map((e) => `${e.source}>${e.target}`)).size).toBe(chart.edges.length);
    for (const e of chart.edges) {
      expect(e.points.length, `${e.source}>${e.target}`).toBeGreaterThanOrEqual(2);
      expect(e.labelBox?.height).toBeGreaterThanOrEqual(e.transitions.length * 14);
    }
  });
});
