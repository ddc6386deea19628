// The node actor's services around the machines (issue 4), with the process
// driver and a real nats-server: lease and heartbeat, admission and the
// quota of paused sandboxes (stop vs freeze), proxy activity (in-memory
// deadline, coalesced writes), tombstone deletion, reconciliation on
// demand, and the sweep that marks a lost node's sandboxes `node_lost`.
import type { NatsConnection } from "@nats-io/nats-core";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { encodeActivityBatch } from "../../src/activity.js";
import { resolveConfig, type CorralOptions } from "../../src/config.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import { requestNode, requestReconcile } from "../../src/node-protocol.js";
import { NodeRegistry } from "../../src/store/node-registry.js";
import { subjects } from "../../src/subjects.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { useNats } from "../helpers/fixture.js";
import { spawnNode, startNode, type TestNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const CONFIG: CorralOptions = { nodeLeaseMs: 1_500, heartbeatMs: 400, nodeLostGraceMs: 1_000, tombstoneMs: 1_500, activityFlushMs: 1_000 };
const SMALL = { cpu: 1, memoryMB: 64 };

const fixture = useNats();
let nc: NatsConnection;
let registry: NodeRegistry;
let node: TestNode | undefined;

beforeAll(async () => {
  ({ nc } = fixture);
  registry = await NodeRegistry.open(nc, resolveConfig(CONFIG, {}));
});
afterEach(async () => {
  await node?.destroy();
  node = undefined;
});

const start = (extra: Partial<Parameters<typeof startNode>[0]> = {}) =>
  startNode({ natsUrl: fixture.nats.url, prefix: "svc", driver: "process", config: CONFIG, ...extra }).then((n) => (node = n));
const lease = (n: TestNode) => registry.get(n.nodeId);
const eventsOf = (id: string) => fixture.events.filter((e) => e.sandboxId === id);

describe("node services", () => {
  it("registers its lease, heartbeats it, publishes allocation and counts, and marks it stopping on stop", async () => {
    const n = await start({ capacity: { cpu: 4, memoryMB: 1024, sandboxes: 10 } });
    const first = await lease(n);
    expect(first).toMatchObject({ nodeId: n.nodeId, driver: "process", pauseMode: "freeze", capacity: { cpu: 4, memoryMB: 1024, sandboxes: 10 } });
    expect(first!.allocation).toEqual({ cpu: 0, memoryMB: 0, sandboxes: 0 });
    const [a] = await Promise.all([n.client.create({ resources: SMALL }), n.client.create({ resources: SMALL })]);
    await n.client.pause(a.sandboxId);
    const after = await waitUntil(async () => {
      const l = await lease(n);
      return l?.counts.running === 1 && l.counts.paused === 1 && l;
    }, { what: "allocation in the lease" });
    expect(after.allocation).toEqual({ cpu: 2, memoryMB: 128, sandboxes: 2 }); // a frozen pause keeps its quota
    const beat = after.heartbeatAt;
    await waitUntil(async () => ((await lease(n))?.heartbeatAt ?? 0) > beat, { what: "a heartbeat" });
    const stoppedFrom = Date.now();
    await n.stop();
    // Kept, marked `stopping`: its sandboxes are not lost for the stop grace.
    expect((await lease(n))?.stoppingAt).toBeGreaterThanOrEqual(stoppedFrom);
  });

  it("admits by capacity; a stop-mode pause releases its quota and a resume must be admitted again", async () => {
    const n = await start({ pauseMode: "stop", capacity: { cpu: 2, memoryMB: 1024, sandboxes: 10 } });
    const [a] = await Promise.all([n.client.create({ resources: SMALL }), n.client.create({ resources: SMALL })]);
    await expect(n.client.create({ resources: SMALL })).rejects.toMatchObject({ code: "capacity_exhausted", message: /needs 1 cpu, 0 free/ });
    await n.client.pause(a.sandboxId);
    await waitUntil(async () => (await lease(n))?.allocation.cpu === 1, { what: "the released quota in the lease" });
    const c = await n.client.create({ resources: SMALL });
    expect(c.state).toBe("running");
    await expect(n.client.resume(a.sandboxId)).rejects.toMatchObject({ code: "capacity_exhausted" });
    expect((await n.client.get(a.sandboxId)).state).toBe("paused");
    await n.client.kill(c.sandboxId);
    expect((await n.client.resume(a.sandboxId)).state).toBe("running");
  });

  it("admits concurrent stop-mode resumes one quota at a time: of two resumes with room for one, one is refused", async () => {
    const n = await start({ pauseMode: "stop", capacity: { cpu: 2, memoryMB: 1024, sandboxes: 10 } });
    const [a, b] = await Promise.all([n.client.create({ resources: SMALL }), n.client.create({ resources: SMALL })]);
    await Promise.all([n.client.pause(a.sandboxId), n.client.pause(b.sandboxId)]);
    // The API places creates by the lease, which shows the released quota at the next heartbeat.
    await waitUntil(async () => (await lease(n))?.allocation.cpu === 0, { what: "the released quota in the lease" });
    const c = await n.client.create({ resources: SMALL }); // 1 of 2 cpu left
    const outcomes = await Promise.allSettled([n.client.resume(a.sandboxId), n.client.resume(b.sandboxId)]);
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(1);
    expect(outcomes.find((o) => o.status === "rejected")).toMatchObject({ reason: { code: "capacity_exhausted" } });
    const states = await Promise.all([a, b, c].map((s) => n.client.get(s.sandboxId).then((r) => r.state)));
    expect(states.filter((s) => s === "running")).toHaveLength(2);
  });

  it("applies activity to the deadline at once (idle) and persists it at most once per activityFlushMs", async () => {
    const n = await start();
    const idle = await n.client.create({ timeoutMs: 1_500, lifecycle: { idle: true }, resources: SMALL });
    const fixed = await n.client.create({ timeoutMs: 60_000, resources: SMALL });
    let lastSent = 0;
    const send = () => {
      const now = (lastSent = Date.now());
      const items = [idle, fixed].map((s) => ({ sandboxId: s.sandboxId, lastActiveAt: now, requests: 1 }));
      nc.publish(subjects.activity(n.nodeId), encodeActivityBatch({ proxyId: "test-proxy", at: now, items }));
    };
    // Traffic every 300 ms for 3 s: twice the idle timeout, yet the sandbox stays up.
    const t0 = Date.now();
    while (Date.now() - t0 < 3_000) {
      send();
      await new Promise((r) => setTimeout(r, 300));
    }
    expect((await n.client.get(idle.sandboxId)).state).toBe("running");
    const writes = eventsOf(idle.sandboxId).filter((e) => e.event === "activity");
    expect(writes.length).toBeGreaterThanOrEqual(2);
    expect(writes.length).toBeLessThanOrEqual(4); // 3 s / 1 s flushes (+1 for a tick at the edge)
    const lastWrite = writes.at(-1)!.record;
    expect(lastWrite.endAt).toBe(lastWrite.lastActiveAt! + 1_500);
    // A non-idle sandbox's deadline does not move; its lastActiveAt does.
    const f = await waitUntil(async () => {
      const r = await n.client.get(fixed.sandboxId);
      return r.lastActiveAt! > fixed.lastActiveAt! && r;
    }, { what: "the fixed sandbox's activity" });
    expect(f.endAt).toBe(fixed.endAt);
    // Traffic stops: the idle sandbox times out 1.5 s after its last activity.
    const timeout = await waitUntil(() => eventsOf(idle.sandboxId).find((e) => e.event === "timeout"), { what: "idle timeout", timeoutMs: 5_000 });
    expect(timeout.at - lastSent).toBeGreaterThanOrEqual(1_500 - 50);
    expect(timeout.at - lastSent).toBeLessThan(1_500 + 1_000);
    // Garbage on the subject is dropped; the node keeps applying valid batches.
    nc.publish(subjects.activity(n.nodeId), new Uint8Array([0xc1, 0xff]));
    send();
    await waitUntil(async () => (await n.client.get(fixed.sandboxId)).revision > f.revision, { what: "activity after garbage", timeoutMs: 3_000 });
  });

  it("deletes a killed tombstone after tombstoneMs (gone, then not_found)", async () => {
    const n = await start();
    const s = await n.client.create({ resources: SMALL });
    await n.client.kill(s.sandboxId);
    await expect(n.client.pause(s.sandboxId)).rejects.toMatchObject({ code: "gone" });
    await waitUntil(() => n.client.get(s.sandboxId).then(() => false, (e: { code?: string }) => e.code === "not_found"), { what: "tombstone deletion", timeoutMs: 5_000 });
  });

  it("reconciles on demand: removes a process no record names, kills a record whose process vanished", async () => {
    const n = await start();
    const kept = await n.client.create({ resources: SMALL });
    const outside = new ProcessDriver({ dataDir: n.dataDir });
    try {
      const orphan = await outside.start({ sandboxId: "orphan0000000000000b" as never, nodeId: n.nodeId, clusterId: n.node.clusterId, template: BASE_TEMPLATE, env: {}, resources: SMALL, incarnation: 1 });
      const summary = await requestReconcile(nc, n.nodeId, 10_000);
      expect(summary).toMatchObject({ orphansRemoved: 1, checked: 1 });
      await waitUntil(async () => (await outside.inspect(orphan.handle))?.state !== "running", { what: "the orphan to end" });
      const left = await outside.list(n.nodeId);
      expect(left.map((i) => i.sandboxId)).toEqual([kept.sandboxId]);
      expect((await n.client.get(kept.sandboxId)).state).toBe("running");
      // Its process killed behind the node's back: the record becomes killed / container_exited.
      const pid = Number(left[0]!.handle.split(":")[1]);
      process.kill(-pid, "SIGKILL");
      const exited = await waitUntil(() => eventsOf(kept.sandboxId).find((e) => e.to === "killed"), { what: "container_exited", timeoutMs: 3_000 });
      expect(exited.record.killReason).toBe("container_exited");
    } finally {
      await outside.close();
    }
  });

  it("marks the sandboxes of a node whose lease is gone for nodeLostGraceMs as killed / node_lost", async () => {
    const n = await start();
    const lost = await spawnNode({ natsUrl: fixture.nats.url, prefix: "lost", driver: "process", config: CONFIG });
    try {
      const spec = { template: "base", timeoutMs: 600_000, expiration: "ttl" as const, lifecycle: { onTimeout: "kill" as const, autoResume: false, idle: false }, metadata: {}, env: {}, resources: SMALL, secure: false, key: null, tenant: null };
      const onLost = await requestNode(nc, lost.nodeId, { op: "create", sandboxId: "lostsandbox000000001" as never, spec }, 30_000);
      expect(onLost.record.nodeId).toBe(lost.nodeId);
      await lost.crash();
      const crashedAt = Date.now();
      const marked = await waitUntil(() => eventsOf(onLost.record.sandboxId).find((e) => e.event === "node_lost"), { what: "node_lost", timeoutMs: 10_000 });
      expect(marked.record).toMatchObject({ state: "killed", killReason: "node_lost", nodeId: lost.nodeId });
      // Not before the lease lapsed and the grace passed.
      expect(marked.at - crashedAt).toBeGreaterThanOrEqual(CONFIG.nodeLostGraceMs!);
      expect(await n.client.get(onLost.record.sandboxId)).toMatchObject({ state: "killed", killReason: "node_lost" });
    } finally {
      await lost.destroy();
    }
  });
});
