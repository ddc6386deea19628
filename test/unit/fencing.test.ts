// The fence's lapse detection and the ownership rule of the fencing pass (pure).
import { describe, expect, it } from "vitest";
import pino from "pino";
import { Fence, stillOwned } from "../../actors/node/fencing.js";
import type { NodeId } from "../../src/ids.js";
import type { StoredSandbox } from "../../src/schema/record.js";

function fence(leaseMs: number) {
  let now = 0;
  const calls: string[] = [];
  const f = new Fence({ leaseMs, log: pino({ level: "silent" }), now: () => now, onLost: () => calls.push("lost"), onRegained: () => calls.push("regained") });
  return { f, calls, at: (t: number) => (now = t) };
}

describe("Fence", () => {
  it("never fences before the first lease write", () => {
    const { f, calls, at } = fence(1_000);
    at(10_000);
    expect(f.check()).toBe(false);
    expect(calls).toEqual([]);
  });

  it("fences once when the last renewal is older than the lease, and regains on the next acknowledged write", () => {
    const { f, calls, at } = fence(1_000);
    f.renewed(0);
    at(1_000);
    expect(f.check()).toBe(false);
    at(1_001);
    expect(f.check()).toBe(true);
    expect(f.check()).toBe(true);
    expect(calls).toEqual(["lost"]);
    f.renewed(1_500);
    expect(f.lost).toBe(false);
    expect(calls).toEqual(["lost", "regained"]);
    at(2_000);
    expect(f.check()).toBe(false);
  });
});

describe("stillOwned", () => {
  const me = "node-a" as NodeId;
  const rec = (over: Partial<StoredSandbox> & { incarnation?: number }): StoredSandbox =>
    ({ sandboxId: "s", nodeId: me, state: "running", killReason: null, internal: { incarnation: over.incarnation ?? 1 }, ...over }) as unknown as StoredSandbox;

  it("is owned while the store names this node, the same incarnation, and not killed behind its back", () => {
    expect(stillOwned(me, rec({}), rec({ revision: 9 } as never))).toBe(true);
    expect(stillOwned(me, rec({ state: "killed" }), rec({ state: "killed" }))).toBe(true);
  });

  it("is taken when the record is gone, on another node, killed as node_lost, or a new incarnation", () => {
    expect(stillOwned(me, rec({}), null)).toBe(false);
    expect(stillOwned(me, rec({}), rec({ nodeId: "node-b" as NodeId }))).toBe(false);
    expect(stillOwned(me, rec({}), rec({ state: "killed", killReason: "node_lost" }))).toBe(false);
    expect(stillOwned(me, rec({}), rec({ incarnation: 2 }))).toBe(false);
  });
});
