import { describe, expect, it } from "vitest";
import { placeSandbox, warmTemplateOf } from "../../src/api/scheduler.js";
import type { NodeId } from "../../src/ids.js";
import type { NodeRecord } from "../../src/store/node-registry.js";

function node(id: string, capacity: { cpu: number; memoryMB: number; sandboxes?: number }, allocation: { cpu: number; memoryMB: number; sandboxes?: number }): NodeRecord {
  return {
    nodeId: id as NodeId,
    version: "test",
    address: null,
    driver: "process",
    pauseMode: "freeze",
    startedAt: 0,
    heartbeatAt: Date.now(),
    capacity: { sandboxes: 1000, ...capacity },
    allocation: { sandboxes: 0, ...allocation },
    counts: {},
  };
}

describe("placeSandbox", () => {
  const need = { cpu: 1, memoryMB: 512 };

  it("orders candidates by the fraction of capacity left after placement (spreads load)", () => {
    const nodes = [node("small", { cpu: 2, memoryMB: 2048 }, { cpu: 0, memoryMB: 0 }), node("big", { cpu: 8, memoryMB: 8192 }, { cpu: 1, memoryMB: 512 }), node("busy", { cpu: 8, memoryMB: 8192 }, { cpu: 6, memoryMB: 6144 })];
    expect(placeSandbox(nodes, need).candidates.map((n) => n.nodeId)).toEqual(["big", "small", "busy"]);
  });

  it("skips draining and stopping nodes, saying why", () => {
    const free = { cpu: 8, memoryMB: 8192 };
    const idle = { cpu: 0, memoryMB: 0 };
    const nodes = [{ ...node("d", free, idle), drain: true }, { ...node("s", free, idle), stoppingAt: Date.now() }, node("r", { cpu: 2, memoryMB: 1024 }, idle)];
    const placed = placeSandbox(nodes, need);
    expect(placed.candidates.map((n) => n.nodeId)).toEqual(["r"]);
    expect(placed.shortfalls).toEqual(["node d: draining", "node s: stopping"]);
  });

  it("names what each full node is short of", () => {
    const nodes = [node("a", { cpu: 1, memoryMB: 256 }, { cpu: 0, memoryMB: 0 }), node("b", { cpu: 4, memoryMB: 4096, sandboxes: 2 }, { cpu: 0.5, memoryMB: 0, sandboxes: 2 })];
    const { candidates, shortfalls } = placeSandbox(nodes, need);
    expect(candidates).toEqual([]);
    expect(shortfalls).toEqual(["node a: needs 512 MiB memory, 256 free", "node b: at its limit of 2 sandboxes"]);
  });

  it("counts fractional cpu exactly at the boundary", () => {
    const { candidates } = placeSandbox([node("edge", { cpu: 1, memoryMB: 1024 }, { cpu: 0.5, memoryMB: 0 })], { cpu: 0.5, memoryMB: 512 });
    expect(candidates.map((n) => n.nodeId)).toEqual(["edge"]);
  });

  it("breaks ties by fewer sandboxes, then by id", () => {
    const nodes = [node("n2", { cpu: 4, memoryMB: 4096 }, { cpu: 0, memoryMB: 0, sandboxes: 3 }), node("n1", { cpu: 4, memoryMB: 4096 }, { cpu: 0, memoryMB: 0, sandboxes: 3 }), node("n3", { cpu: 4, memoryMB: 4096 }, { cpu: 0, memoryMB: 0, sandboxes: 1 })];
    expect(placeSandbox(nodes, need).candidates.map((n) => n.nodeId)).toEqual(["n3", "n1", "n2"]);
  });

  it("puts a node with a ready warm member of the template first, then capacity", () => {
    const idle = { cpu: 0, memoryMB: 0 };
    const nodes = [node("roomy", { cpu: 16, memoryMB: 16384 }, idle), { ...node("warm", { cpu: 4, memoryMB: 4096 }, { cpu: 1, memoryMB: 512, sandboxes: 1 }), warm: { base: 1 } }];
    expect(placeSandbox(nodes, need, "base").candidates.map((n) => n.nodeId)).toEqual(["warm", "roomy"]);
    expect(placeSandbox(nodes, need, "other").candidates.map((n) => n.nodeId)).toEqual(["roomy", "warm"]);
    expect(placeSandbox(nodes, need).candidates.map((n) => n.nodeId)).toEqual(["roomy", "warm"]);
  });

  it("counts a ready member of the template as free capacity (the create takes its reservation over)", () => {
    const full = { ...node("full", { cpu: 2, memoryMB: 1024, sandboxes: 2 }, { cpu: 2, memoryMB: 1024, sandboxes: 2 }), warm: { base: 1 } };
    expect(placeSandbox([full], need, "base").candidates.map((n) => n.nodeId)).toEqual(["full"]);
    expect(placeSandbox([{ ...full, warm: { base: 0 } }], need, "base").shortfalls).toEqual(["node full: needs 1 cpu, 0 free, needs 512 MiB memory, 0 free, at its limit of 2 sandboxes"]);
    expect(placeSandbox([{ ...full, warm: { base: 0 } }], need, "base").candidates).toEqual([]);
  });

  it("counts ready members of any template as room for a create that takes none (the node evicts them), last", () => {
    const full = { ...node("full", { cpu: 2, memoryMB: 1024, sandboxes: 2 }, { cpu: 2, memoryMB: 1024, sandboxes: 2 }), warm: { py: 1, base: 1 } };
    expect(placeSandbox([full], need).candidates.map((n) => n.nodeId)).toEqual(["full"]);
    expect(placeSandbox([full], { cpu: 2, memoryMB: 1024 }).candidates.map((n) => n.nodeId)).toEqual(["full"]);
    expect(placeSandbox([full], { cpu: 3, memoryMB: 512 }).shortfalls).toEqual(["node full: needs 3 cpu, 0 free, needs 512 MiB memory, 0 free, at its limit of 2 sandboxes"]);
    // Members hold the default resources: one evicted member does not make room for a bigger create.
    const oneMember = { ...full, warm: { base: 1 } };
    expect(placeSandbox([oneMember], { cpu: 2, memoryMB: 512 }).candidates).toEqual([]);
    // A node with room that needs no eviction comes before one that does, even with less headroom.
    const tight = node("tight", { cpu: 2, memoryMB: 1024 }, { cpu: 1, memoryMB: 512, sandboxes: 1 });
    expect(placeSandbox([full, tight], need).candidates.map((n) => n.nodeId)).toEqual(["tight", "full"]);
  });

  it("counts a member still being started as room for a create that takes none (the node evicts it too)", () => {
    const refilling = { ...node("refilling", { cpu: 2, memoryMB: 1024, sandboxes: 2 }, { cpu: 2, memoryMB: 1024, sandboxes: 2 }), warm: { base: 0 }, warmStarting: 1 };
    expect(placeSandbox([refilling], need).candidates.map((n) => n.nodeId)).toEqual(["refilling"]);
    const { warmStarting: _, ...full } = refilling;
    expect(placeSandbox([full], need).candidates).toEqual([]);
    // It is not a member the create can take: an eligible create does not rank it first.
    const tight = node("tight", { cpu: 2, memoryMB: 1024 }, { cpu: 1, memoryMB: 512, sandboxes: 1 });
    expect(placeSandbox([refilling, tight], need, "base").candidates.map((n) => n.nodeId)).toEqual(["tight", "refilling"]);
  });
});

describe("warmTemplateOf", () => {
  const defaults = { cpu: 1, memoryMB: 512 };
  it("names the template of a create with no env and the default resources only", () => {
    expect(warmTemplateOf({ template: "base", env: {}, resources: { cpu: 1, memoryMB: 512 } }, defaults)).toBe("base");
    expect(warmTemplateOf({ template: "base", env: { A: "1" }, resources: { cpu: 1, memoryMB: 512 } }, defaults)).toBeUndefined();
    expect(warmTemplateOf({ template: "base", env: {}, resources: { cpu: 2, memoryMB: 512 } }, defaults)).toBeUndefined();
    expect(warmTemplateOf({ template: "base", env: {}, resources: { cpu: 1, memoryMB: 256 } }, defaults)).toBeUndefined();
  });
});
