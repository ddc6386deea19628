// The lost-node sweep's schedule (pure logic, in-memory store and registry):
// idle ticks read only the registry; records are scanned on the first tick,
// when a node disappears, when a grace or a tombstone falls due, and as a
// periodic safety net. Marking and deleting follow the contract.
import { describe, expect, it } from "vitest";
import { FULL_SCAN_MS, LostNodeSweeper } from "../../actors/node/node-lost.js";
import { asNodeId, type NodeId, type SandboxId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { Decide } from "../../src/store/sandbox-store.js";
import { makeStoredSandbox } from "../helpers/records.js";

const GRACE = 60_000;
const TOMBSTONE = 3_600_000;

function harness(records: StoredSandbox[], liveNodes: string[]) {
  const byId = new Map(records.map((r) => [r.sandboxId, r]));
  const live = { nodes: liveNodes };
  let now = 1_000_000;
  let scans = 0;
  const store = {
    async *scan() {
      scans++;
      yield* [...byId.values()];
    },
    async mutate(id: SandboxId, decide: Decide) {
      const latest = byId.get(id)!;
      const d = decide(latest);
      if (!d) return latest;
      const next = { ...d.record, revision: latest.revision + 1 };
      byId.set(id, next);
      return next;
    },
    async deleteIfRevision(id: SandboxId, revision: number) {
      if (byId.get(id)?.revision !== revision) return false;
      byId.delete(id);
      return true;
    },
  };
  const registry = { list: async () => live.nodes.map((n) => ({ nodeId: asNodeId(n) }) as never) };
  const sweeper = new LostNodeSweeper({
    nodeId: asNodeId("me"),
    store,
    registry,
    config: { nodeLostGraceMs: GRACE, tombstoneMs: TOMBSTONE },
    log: logger("test"),
    now: () => now,
  });
  return {
    sweeper,
    byId,
    live,
    scans: () => scans,
    advance: (ms: number) => (now += ms),
  };
}

const on = (nodeId: string) => makeStoredSandbox({ nodeId: nodeId as NodeId });

describe("LostNodeSweeper", () => {
  it("scans once at start, then only reads the registry while nothing changes", async () => {
    const h = harness([on("me"), on("other")], ["me", "other"]);
    await h.sweeper.sweep();
    expect(h.scans()).toBe(1);
    for (let i = 0; i < 20; i++) {
      h.advance(15_000);
      await h.sweeper.sweep();
    }
    expect(h.scans()).toBe(1);
  });

  it("marks a vanished node's sandboxes node_lost after the grace, then deletes their tombstones", async () => {
    const mine = on("me");
    const lost = on("gone");
    const h = harness([mine, lost], ["me", "gone"]);
    await h.sweeper.sweep();
    h.live.nodes = ["me"];
    h.advance(15_000);
    await h.sweeper.sweep(); // the node left: scan, grace starts
    expect(h.scans()).toBe(2);
    expect(h.byId.get(lost.sandboxId)!.state).toBe("running");
    h.advance(15_000);
    await h.sweeper.sweep(); // nothing due yet
    expect(h.scans()).toBe(2);
    h.advance(GRACE);
    await h.sweeper.sweep(); // grace over
    expect(h.scans()).toBe(3);
    expect(h.byId.get(lost.sandboxId)).toMatchObject({ state: "killed", killReason: "node_lost", nodeId: "gone" });
    expect(h.byId.get(mine.sandboxId)!.state).toBe("running");
    h.advance(TOMBSTONE / 2);
    await h.sweeper.sweep(); // tombstone not due yet (but the safety net scans: TOMBSTONE/2 > FULL_SCAN_MS)
    expect(h.byId.has(lost.sandboxId)).toBe(true);
    h.advance(TOMBSTONE / 2);
    await h.sweeper.sweep();
    expect(h.byId.has(lost.sandboxId)).toBe(false);
  });

  it("leaves a node that comes back within the grace untouched", async () => {
    const r = on("flaky");
    const h = harness([r], ["me", "flaky"]);
    await h.sweeper.sweep();
    h.live.nodes = ["me"];
    h.advance(15_000);
    await h.sweeper.sweep();
    h.live.nodes = ["me", "flaky"];
    h.advance(GRACE);
    await h.sweeper.sweep();
    h.advance(GRACE);
    await h.sweeper.sweep();
    expect(h.byId.get(r.sandboxId)!.state).toBe("running");
  });

  it("scans every FULL_SCAN_MS as a safety net (a node that lived and died between two ticks)", async () => {
    const h = harness([on("me")], ["me"]);
    await h.sweeper.sweep();
    const ghost = on("ghost"); // a node never seen live
    h.byId.set(ghost.sandboxId, ghost);
    h.advance(FULL_SCAN_MS - 1);
    await h.sweeper.sweep();
    expect(h.scans()).toBe(1);
    h.advance(1);
    await h.sweeper.sweep();
    expect(h.scans()).toBe(2);
    h.advance(GRACE);
    await h.sweeper.sweep();
    expect(h.byId.get(ghost.sandboxId)).toMatchObject({ state: "killed", killReason: "node_lost" });
  });
});
