// NodeRegistry (issue 4 item 4): registration, heartbeat, list of live nodes,
// watch, graceful removal, and the lease: a node that stops heartbeating
// disappears after nodeLeaseMs.
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { InternalError } from "../../src/errors.js";
import { asNodeId, type NodeId } from "../../src/ids.js";
import { NodeRegistry, type NodeRecord } from "../../src/store/node-registry.js";
import { NODE_BUCKET } from "../../src/subjects.js";
import { useNats } from "../helpers/fixture.js";
import { makeNodeRecord, type NodeRecordOverrides } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const LEASE_MS = 1_500;
const config = resolveConfig({ nodeLeaseMs: LEASE_MS, heartbeatMs: 500 }, {});

/** A node that started and heartbeat just now. */
function nodeRecord(nodeId: string, overrides: NodeRecordOverrides = {}): NodeRecord {
  const now = Date.now();
  return makeNodeRecord({ nodeId, startedAt: now, heartbeatAt: now, ...overrides });
}

describe("NodeRegistry", () => {
  const fixture = useNats();
  let nc: NatsConnection;
  let registry: NodeRegistry;

  beforeAll(async () => {
    ({ nc } = fixture);
    registry = await NodeRegistry.open(nc, config);
  });

  it("makes the bucket's max-age the node lease plus the stop grace", async () => {
    expect((await (await new Kvm(nc).open(NODE_BUCKET)).status()).ttl).toBe(LEASE_MS + config.nodeStopGraceMs);
  });

  it("puts, gets and lists nodes with their revisions", async () => {
    const a = nodeRecord("reg-a", { counts: { running: 2, paused: 1 }, allocation: { cpu: 1.5, memoryMB: 1024, sandboxes: 3 } });
    const b = nodeRecord("reg-b", { driver: "docker", address: "10.0.0.2" });
    const revA = await registry.put(a);
    const revB = await registry.put(b);
    expect(await registry.get(a.nodeId)).toEqual({ ...a, revision: revA });
    const listed = await registry.list();
    expect(listed.filter((n) => n.nodeId.startsWith("reg-"))).toEqual([
      { ...a, revision: revA },
      { ...b, revision: revB },
    ]);
    const revA2 = await registry.put({ ...a, heartbeatAt: Date.now() });
    expect(revA2).toBeGreaterThan(revA);
    expect((await registry.get(a.nodeId))?.revision).toBe(revA2);
    await registry.remove(a.nodeId);
    await registry.remove(b.nodeId);
    expect(await registry.get(a.nodeId)).toBeNull();
    expect((await registry.list()).map((n) => n.nodeId)).not.toContain("reg-a");
  });

  it("refuses an invalid record and treats a stale heartbeat as expired", async () => {
    await expect(registry.put({ ...nodeRecord("reg-bad"), capacity: { cpu: -1, memoryMB: 0, sandboxes: 0 } })).rejects.toBeInstanceOf(InternalError);
    // Written just now, but its heartbeat is older than the lease: not live.
    await registry.put(nodeRecord("reg-stale", { heartbeatAt: Date.now() - LEASE_MS - 100 }));
    expect(await registry.get(asNodeId("reg-stale"))).toBeNull();
    expect((await registry.list()).map((n) => n.nodeId)).not.toContain("reg-stale");
  });

  it("drops a node whose heartbeat stopped after the lease, and the watcher sees it go", async () => {
    const seen: [NodeId, NodeRecord | null][] = [];
    const stop = registry.watch((id, record) => seen.push([id, record]));
    try {
      const steady = asNodeId("lease-steady");
      const dying = asNodeId("lease-dying");
      const dyingRecord = nodeRecord(dying);
      await registry.put(dyingRecord);
      // The lease runs from the record's heartbeatAt (readers judge by it), not from when the put returned.
      const lastBeatAt = dyingRecord.heartbeatAt;
      await waitUntil(() => seen.some(([id, r]) => id === dying && r !== null), { what: "watch to see the dying node" });
      // `steady` heartbeats every heartbeatMs; `dying` never again.
      const beat = () => registry.put(nodeRecord(steady));
      await beat();
      const heartbeat = setInterval(() => void beat(), config.heartbeatMs);
      try {
        await waitUntil(async () => !(await registry.list()).some((n) => n.nodeId === dying), {
          timeoutMs: LEASE_MS * 4,
          what: "the dying node to leave list()",
        });
        expect(Date.now() - lastBeatAt).toBeGreaterThanOrEqual(LEASE_MS);
        // list() judges by heartbeatAt; the watcher hears of the expiry when the bucket's max-age removes the record, a moment later.
        await waitUntil(() => seen.some(([id, r]) => id === dying && r === null), { timeoutMs: LEASE_MS * 4, what: "the watcher to see the dying node go" });
        expect(await registry.get(dying)).toBeNull();
        expect((await registry.list()).map((n) => n.nodeId)).toContain(steady);
        expect(seen.filter(([id, r]) => id === steady && r === null)).toEqual([]);
      } finally {
        clearInterval(heartbeat);
      }
    } finally {
      stop();
    }
  });

  it("reports a graceful removal to the watcher", async () => {
    const seen: [NodeId, NodeRecord | null][] = [];
    const stop = registry.watch((id, record) => seen.push([id, record]));
    try {
      const id = asNodeId("watch-remove");
      const rev = await registry.put(nodeRecord(id));
      await waitUntil(() => seen.some(([n, r]) => n === id && r?.revision === rev), { what: "the put" });
      await registry.remove(id);
      await waitUntil(() => seen.some(([n, r]) => n === id && r === null), { what: "the removal" });
      expect(seen.filter(([n]) => n === id).map(([, r]) => r?.revision ?? null)).toEqual([rev, null]);
    } finally {
      stop();
    }
  });
});
