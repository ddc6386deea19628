// Issue 15, end to end on a real 3-server nats-server cluster (R3) with three
// `corral node` processes (process driver): a hung node (SIGSTOP) stalls
// nobody and executes nothing late; a node stopped past its lease + grace is
// fenced when it wakes (its processes gone within 10 s, the node_lost
// records untouched); SIGTERM keeps the sandboxes for the stop grace and a
// restart re-adopts them; drain keeps creates off a node. Leases and graces
// are short so each case is bounded.
//
// Each node is connected to its own server, and the test's client to the
// first node's: nats-server hands a queue-group request to a member on the
// requester's server first, so a hung node there would take every retry if
// the client only used the queue group. The client sends retries to a live
// instance's own subject instead (src/client/routing.ts); this file proves it
// (through the client library and through an E2B gateway on that server).
//
// History: every sandbox request of the file (the cases' own, through
// RecordingClient, and a paced background workload with one client per
// server that runs through all four cases) is recorded, and the last case
// feeds it with the CORRAL_EVENTS stream to the history checker, which must
// find 0 anomalies (ghost creates and late deadline moves included).
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { LiveInstances } from "../../src/client/instances.js";
import type { CorralOptions } from "../../src/config.js";
import { DEADLINE_HEADER } from "../../src/deadline-header.js";
import { createDriver } from "../../src/drivers/create.js";
import { ApiKeyStore } from "../../src/store/api-keys.js";
import { startGateway, type GatewayHandle } from "../../actors/gateway/index.js";
import { isCorralError } from "../../src/errors.js";
import type { NodeId } from "../../src/ids.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { resolveConfig } from "../../src/config.js";
import { SandboxStore } from "../../src/store/index.js";
import { checkHistory } from "../history/checker.js";
import { explainSandbox } from "../history/explain.js";
import { Recorder, eventsBehindWrites, readEventStream } from "../history/recorder.js";
import { RecordingClient } from "../history/recording-client.js";
import { runWorkload } from "../history/workload.js";
import { corralJson } from "../helpers/cli.js";
import { startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const CONFIG: CorralOptions = {
  nodeLeaseMs: 1_500,
  heartbeatMs: 400,
  nodeLostGraceMs: 10_000,
  nodeStopGraceMs: 40_000,
  replicas: 3,
  nodeRequestTimeoutMs: 20_000,
};
const SMALL = { cpu: 0.1, memoryMB: 16 };
/** Teardown bound of a graceful stop (then SIGKILL), so a slow stop cannot hang the suite. */
const STOP_BOUND_MS = 20_000;
const RUN = `faults-${Date.now().toString(36)}`;

let cluster: NatsCluster;
let client: CorralClient;
/** Every sandbox request of the file (the test's own and the background workload's), for the history checker (last case). */
const recorder = new Recorder();
let workload: Promise<void> | undefined;
let workloadDone = false;
/** When each fault was in force (the last case checks the workload ran through each). */
const faults: { name: string; fromMs: number; toMs: number }[] = [];
/** An E2B gateway on the first node's server too, and a key of tenant {@link TENANT}. */
let gateway: GatewayHandle;
let apiKey: string;
const TENANT = "faults";
const nodes: SpawnedNode[] = [];

/** Processes the process driver still has for `node`. */
async function processesOf(node: SpawnedNode): Promise<string[]> {
  const driver = createDriver("process", { dataDir: node.dataDir });
  try {
    return (await driver.list(node.nodeId)).map((i) => i.sandboxId);
  } finally {
    await driver.close();
  }
}

/** Creates sandboxes until each of `targets` holds at least `each`. */
async function spread(targets: readonly NodeId[], each: number, tag: string, via: CorralClient = client): Promise<Map<NodeId, SandboxRecord[]>> {
  const by = new Map<NodeId, SandboxRecord[]>(targets.map((id) => [id, []]));
  for (let i = 0; i < 30 && [...by.values()].some((l) => l.length < each); i++) {
    const created = await via.create({ timeoutMs: 600_000, resources: SMALL, secure: false, metadata: { run: RUN, tag } });
    by.get(created.nodeId)?.push(created);
  }
  for (const [id, list] of by) expect(list.length, `sandboxes on ${id}`).toBeGreaterThanOrEqual(each);
  return by;
}

/** The id of `nodeId`'s API service instance, from a fresh `$SRV.PING.corral` (undefined: it did not answer). */
async function instanceOf(nodeId: NodeId): Promise<string | undefined> {
  return (await new LiveInstances(client.nats).get(1_000, true)).find((i) => i.nodeId === nodeId)?.id;
}

const codeOf = (err: unknown) => (isCorralError(err) ? err.code : String(err));

beforeAll(async () => {
  cluster = await startNatsCluster();
  await cluster.untilJetStream();
  for (const [i, prefix] of ["fa", "fb", "fc"].entries()) nodes.push(await spawnNode({ natsUrl: cluster.servers[i]!.url, prefix, driver: "process", config: CONFIG }));
  client = new RecordingClient((await CorralClient.connect({ natsUrl: cluster.servers[0]!.url })).nats, recorder, 11);
  // The background load the history checker reads with the test's own calls: one client per server, through every case below.
  const loaders = await Promise.all(cluster.servers.map((server) => CorralClient.connect({ natsUrl: server.url, timeoutMs: 4_000 })));
  workload = runWorkload({ clients: loaders, recorder, opsPerClient: 2_000, seed: 1501, until: () => workloadDone, pauseMs: 100 }).finally(() => Promise.allSettled(loaders.map((l) => l.close())));
  apiKey = (await (await ApiKeyStore.open(client.nats, { replicas: 3 })).create(TENANT)).key;
  gateway = await startGateway({ nc: client.nats, port: 0, host: "127.0.0.1" });
}, 120_000);

/** One call to the gateway: status, body and how long it took. */
async function viaGateway(method: string, path: string, headers: Record<string, string> = {}, body?: unknown): Promise<{ status: number; body: unknown; ms: number }> {
  const t0 = Date.now();
  const res = await fetch(`http://127.0.0.1:${gateway.port}${path}`, {
    method,
    headers: { "X-API-Key": apiKey, ...(body === undefined ? {} : { "Content-Type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined, ms: Date.now() - t0 };
}

afterAll(async () => {
  workloadDone = true;
  await workload;
  for (const n of nodes) {
    if (n.child.exitCode === null && n.child.signalCode === null) n.child.kill("SIGCONT");
  }
  await gateway?.close();
  await client?.nats.close();
  await Promise.all(
    nodes.map(async (n) => {
      const t0 = Date.now();
      const stopped = await Promise.race([n.stop().then(() => true), sleep(STOP_BOUND_MS).then(() => false)]);
      if (!stopped) {
        console.warn(`node ${n.nodeId} did not stop within ${STOP_BOUND_MS} ms of SIGTERM; killing it`);
        await n.crash();
      } else console.info(`node ${n.nodeId} stopped in ${Date.now() - t0} ms`);
      await removeSandboxesOf("process", n.nodeId, n.dataDir);
    }),
  );
  await cluster?.stop();
}, 120_000);

describe("node faults on a 3-server cluster with 3 nodes", () => {
  it("a hung node stalls nobody: other nodes' sandboxes answer, its own answer unavailable within the bound, and nothing runs late", async () => {
    const [victim, ...others] = nodes as [SpawnedNode, SpawnedNode, SpawnedNode];
    const by = await spread(nodes.map((n) => n.nodeId), 1, "hung");
    const mine = by.get(victim.nodeId)![0]!;
    const before = await client.get(mine.sandboxId);
    // The gateway's tenant has a sandbox on the hung node and one on another.
    const tenantBy = await spread([victim.nodeId, others[0].nodeId], 1, "hung-gateway", new RecordingClient(client.nats, recorder, 12, { tenant: TENANT }));
    const tenantMine = await client.get(tenantBy.get(victim.nodeId)![0]!.sandboxId);
    const tenantOther = tenantBy.get(others[0].nodeId)![0]!;
    const shortClient = new RecordingClient(client.nats, recorder, 13, { timeoutMs: 2_000 });
    // A shorter bound than the default keeps the stall inside lease + lost grace.
    const fast = new RecordingClient(client.nats, recorder, 14, { timeoutMs: 4_000 });
    const creator = new RecordingClient(client.nats, recorder, 15, { timeoutMs: 8_000 });

    victim.child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    try {
      // Owned by the hung node: unavailable, within the request's bound (plus scheduling slack).
      const t0 = Date.now();
      const err = await shortClient.setTimeout(mine.sandboxId, 30_000).catch((e: unknown) => e);
      expect(codeOf(err)).toBe("unavailable");
      expect(Date.now() - t0).toBeLessThan(2_000 + 1_000);
      // At once: other nodes' sandboxes take safe requests (retried past the
      // hung queue member), and creates succeed elsewhere (keyless: the
      // client's key makes a retry safe).
      const onOthers = Promise.all(
        others.map(async (other) => {
          const sbx = by.get(other.nodeId)![0]!;
          expect((await fast.get(sbx.sandboxId)).state).toBe("running");
          expect((await fast.pause(sbx.sandboxId)).state).toBe("paused");
          expect((await fast.resume(sbx.sandboxId)).state).toBe("running");
        }),
      );
      const creates = Promise.all([1, 2, 3].map(() => creator.create({ timeoutMs: 600_000, resources: SMALL, secure: false, metadata: { run: RUN, tag: "during-stall" } })));
      // The gateway is the client library too: bounded, with the caller's
      // Corral-Deadline if sooner, and safe requests retried on a live instance.
      const gatewayChecks = (async () => {
        const expired = await viaGateway("GET", `/sandboxes/${tenantOther.sandboxId}`, { [DEADLINE_HEADER]: String(Date.now() - 1) });
        expect(expired.status).toBe(503);
        expect(expired.ms).toBeLessThan(500);
        const owned = await viaGateway("POST", `/sandboxes/${tenantMine.sandboxId}/timeout`, { [DEADLINE_HEADER]: String(Date.now() + 1_500) }, { timeout: 900 });
        expect(owned.status).toBe(503);
        expect(owned.ms).toBeLessThan(1_500 + 1_000);
        const other = await viaGateway("GET", `/sandboxes/${tenantOther.sandboxId}`, { [DEADLINE_HEADER]: String(Date.now() + 4_000) });
        expect(other.status, JSON.stringify(other.body)).toBe(200);
        expect(other.body).toMatchObject({ sandboxID: tenantOther.sandboxId, state: "running" });
      })();
      const [, created] = await Promise.all([onOthers, creates, gatewayChecks]);
      for (const c of created) expect(c.nodeId).not.toBe(victim.nodeId);
      const replied = new Set(created.map((c) => c.sandboxId));
      // Stay stopped past the lease, inside lease + lost grace.
      const stallMs = CONFIG.nodeLeaseMs! + 1_200;
      await waitUntil(() => Date.now() - stoppedAt >= stallMs, { timeoutMs: stallMs + 1_000, intervalMs: 50, what: "the stall" });
      expect(Date.now() - stoppedAt, "the stall outlasted lease + lost grace: the case proves nothing").toBeLessThan(CONFIG.nodeLeaseMs! + CONFIG.nodeLostGraceMs!);
      victim.child.kill("SIGCONT");
      faults.push({ name: "SIGSTOP inside the lease + grace", fromMs: stoppedAt, toMs: Date.now() });
      // It wakes, drops what its callers abandoned, and serves again.
      await waitUntil(() => /past its deadline dropped|lease lapsed/.test(victim.output()), { timeoutMs: 10_000, what: "the woken node to drop or fence" });
      await waitUntil(async () => (await client.nodes()).items.find((n) => n.nodeId === victim.nodeId)?.state === "ready", { timeoutMs: 10_000, what: "the victim ready again" });
      // No ghost: every sandbox of this phase is one some caller got a reply for.
      const during = (await client.list({ metadata: { run: RUN, tag: "during-stall" }, state: ["starting", "running", "pausing", "paused", "resuming", "killing", "killed"] })).items;
      expect(new Set(during.map((r) => r.sandboxId))).toEqual(replied);
      // No late deadline move: the set_timeout whose caller gave up never ran.
      const after = await client.get(mine.sandboxId);
      expect(after.revision).toBe(before.revision);
      expect(after.endAt).toBe(before.endAt);
      expect(after.state).toBe("running");
      expect(await client.get(tenantMine.sandboxId)).toEqual(tenantMine);
    } finally {
      victim.child.kill("SIGCONT");
    }
  }, 90_000);

  it("a node stopped past lease + grace is fenced when it wakes: its processes go within 10 s and the node_lost records stay as written", async () => {
    const victim = nodes[1]!;
    const by = await spread([victim.nodeId], 2, "fenced");
    const taken = by.get(victim.nodeId)!;
    const instanceBefore = await instanceOf(victim.nodeId);
    expect(instanceBefore).toBeDefined();
    victim.child.kill("SIGSTOP");
    const stoppedAt = Date.now();
    let marked: SandboxRecord[];
    try {
      // A stopped process answers no ping, so no retry is sent to it.
      expect(await instanceOf(victim.nodeId)).toBeUndefined();
      marked = await waitUntil(
        async () => {
          const rs = await Promise.all(taken.map((s) => client.get(s.sandboxId)));
          return rs.every((r) => r.state === "killed" && r.killReason === "node_lost") && rs;
        },
        { timeoutMs: 20_000, intervalMs: 200, what: "the hung node's sandboxes marked node_lost" },
      );
      expect((await processesOf(victim)).filter((id) => taken.some((s) => s.sandboxId === id)).length).toBe(taken.length);
    } finally {
      victim.child.kill("SIGCONT");
    }
    const wokeAt = Date.now();
    faults.push({ name: "SIGSTOP past the lease + grace", fromMs: stoppedAt, toMs: wokeAt });
    await waitUntil(async () => !(await processesOf(victim)).some((id) => taken.some((s) => s.sandboxId === id)), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: "the fenced node to remove the processes it no longer owns",
    });
    expect(Date.now() - wokeAt).toBeLessThan(10_000);
    expect(victim.output()).toMatch(/orphaned/);
    // It wrote none of those records.
    for (const r of marked) expect(await client.get(r.sandboxId)).toEqual(r);
    // And serves again, as a new API service instance: it left the queue group when it found its lease lapsed, and joined again once fenced off.
    await waitUntil(async () => (await client.nodes()).items.find((n) => n.nodeId === victim.nodeId)?.state === "ready", { timeoutMs: 10_000, what: "the fenced node ready again" });
    expect(victim.output()).toMatch(/lease lapsed: fenced \(admitting no work, left the API queue group\)/);
    const instanceAfter = await waitUntil(() => instanceOf(victim.nodeId), { timeoutMs: 10_000, what: "the fenced node's API instance back" });
    expect(instanceAfter).not.toBe(instanceBefore);
  }, 90_000);

  it("SIGTERM keeps the lease (stopping) and the sandboxes past lease + lost grace; a restart re-adopts them", async () => {
    const index = 2;
    const node = nodes[index]!;
    const kept = (await spread([node.nodeId], 2, "graceful")).get(node.nodeId)!;
    await node.stop();
    const stoppedAt = Date.now();
    const entry = await waitUntil(async () => (await client.nodes()).items.find((n) => n.nodeId === node.nodeId), { what: "the stopping node listed" });
    expect(entry.state).toBe("stopping");
    // Past the point where a lost node's sandboxes are marked; creates go elsewhere meanwhile.
    const lostAfter = CONFIG.nodeLeaseMs! + CONFIG.nodeLostGraceMs! + 2_000;
    const elsewhere = await client.create({ timeoutMs: 600_000, resources: SMALL, secure: false, metadata: { run: RUN } });
    expect(elsewhere.nodeId).not.toBe(node.nodeId);
    await waitUntil(() => Date.now() - stoppedAt >= lostAfter, { timeoutMs: lostAfter + 1_000, intervalMs: 100, what: "lease + lost grace" });
    for (const s of kept) expect((await client.get(s.sandboxId)).state).toBe("running");
    nodes[index] = await spawnNode({ natsUrl: cluster.servers[index]!.url, nodeId: node.nodeId, dataDir: node.dataDir, driver: "process", config: CONFIG });
    faults.push({ name: "SIGTERM and restart", fromMs: stoppedAt, toMs: Date.now() });
    for (const s of kept) {
      const r = await client.get(s.sandboxId);
      expect(r).toMatchObject({ state: "running", nodeId: node.nodeId });
      // Hosted again: a command through its owner works.
      expect((await client.refresh(s.sandboxId, 60_000)).state).toBe("running");
    }
    expect((await client.nodes()).items.find((n) => n.nodeId === node.nodeId)?.state).toBe("ready");
  }, 120_000);

  it("drain keeps creates off a node until undone (API and CLI), its sandboxes live on", async () => {
    const drained = nodes[0]!;
    const env = { CORRAL_NATS_URL: cluster.url };
    const drainedAt = Date.now();
    const entry = await corralJson<{ nodeId: string; state: string }>(["drain", drained.nodeId], env);
    expect(entry).toMatchObject({ nodeId: drained.nodeId, state: "draining" });
    const listed = await corralJson<{ items: { nodeId: string; state: string; counts: Record<string, number> }[] }>(["nodes"], env);
    expect(listed.items.find((n) => n.nodeId === drained.nodeId)).toMatchObject({ state: "draining", counts: expect.objectContaining({ warm: 0 }) });
    const live = (await client.list({ metadata: { run: RUN } })).items.filter((r) => r.nodeId === drained.nodeId);
    for (let i = 0; i < 4; i++) {
      const c = await client.create({ timeoutMs: 600_000, resources: SMALL, secure: false, metadata: { run: RUN, tag: "drain" } });
      expect(c.nodeId).not.toBe(drained.nodeId);
    }
    for (const r of live) expect((await client.get(r.sandboxId)).state).not.toBe("killed");
    expect(await client.drain(drained.nodeId, false)).toMatchObject({ state: "ready" });
    faults.push({ name: "drain", fromMs: drainedAt, toMs: Date.now() });
    const err = await client.drain("no-such-node").catch((e: unknown) => e);
    expect(codeOf(err)).toBe("not_found");
  }, 90_000);

  it("the history of every case above (their own calls and the background workload) has 0 anomalies", async () => {
    workloadDone = true;
    await workload;
    const config = resolveConfig(CONFIG, {});
    const store = await SandboxStore.open(client.nats, config);
    // Events follow writes: wait until every record's latest write has its event in the stream.
    await waitUntil(async () => (await eventsBehindWrites(client.nats, store)).length === 0, { timeoutMs: 30_000, what: "every write's event in CORRAL_EVENTS" });
    const events = await readEventStream(client.nats);
    const anomalies = checkHistory({ ops: recorder.ops, events, maxLifetimeMs: config.maxLifetimeMs });
    const loadOps = (f: (typeof faults)[number]) => recorder.ops.filter((o) => o.client <= cluster.servers.length && o.startMs <= f.toMs && o.endMs >= f.fromMs).length;
    console.info(`history of node faults: ${recorder.ops.length} ops ${JSON.stringify(recorder.outcomes())}, ${events.length} events, ${anomalies.length} anomalies; workload ops during ${faults.map((f) => `${f.name}: ${loadOps(f)}`).join(", ")}`);
    for (const a of anomalies) console.info(`  ${a.kind} ${a.sandboxId}: ${a.detail}`);
    for (const id of new Set(anomalies.map((a) => a.sandboxId))) console.info(`timeline of ${id}:\n  ${explainSandbox({ ops: recorder.ops, events, maxLifetimeMs: 0 }, id).join("\n  ")}`);
    // Every fault ran under load: the checker saw requests in flight through each.
    expect(faults.map((f) => f.name)).toEqual(["SIGSTOP inside the lease + grace", "SIGSTOP past the lease + grace", "SIGTERM and restart", "drain"]);
    for (const f of faults) expect(loadOps(f), f.name).toBeGreaterThan(0);
    expect(anomalies).toEqual([]);
  }, 60_000);
});
