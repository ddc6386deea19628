// Issue 20 / DESIGN.md "Cluster identity": two Corral clusters (two
// nats-servers) on ONE Docker engine, both with a node called `node-1`. Each
// is started, stopped and restarted in turn, and one is SIGKILLed in the
// middle of a create; neither ever removes, pauses or adopts the other's
// containers. Proven from the engine's side: every container's state is read
// with `docker inspect`, and the engine's own event log over each window in
// which only one cluster acts must show nothing at all for the other's.
//
// Cleanup removes only containers labelled with one of this file's two
// cluster ids (plus the unlabelled one it made itself): `node-1` is also
// what a developer's own `corral up` is called.
import type Docker from "dockerode";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { newSandboxId, type ClusterId, type NodeId, type SandboxId } from "../../src/ids.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { readClusterId } from "../../src/store/index.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { containerState, requireDocker } from "../helpers/docker.js";
import { startNats, type NatsServer } from "../helpers/nats.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import { spawnNode, startNode, type SpawnedNode, type TestNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const NODE_ID = "node-1" as NodeId;
const SMALL = { cpu: 0.25, memoryMB: 64 };

/** One cluster: its NATS, its node process (restartable on the same data dir) and a client. */
interface Cluster {
  name: string;
  nats: NatsServer;
  dataDir: string;
  node: SpawnedNode | null;
  client: CorralClient;
  clusterId: ClusterId;
}

let docker: Docker;
const clusters: Cluster[] = [];
/** Containers this file made outside Corral (the "made before cluster ids" ones). */
const unlabelled: string[] = [];

async function startCluster(name: string): Promise<Cluster> {
  const nats = await startNats();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-cluster-${name}-`));
  const node = await spawnNode({ natsUrl: nats.url, nodeId: NODE_ID, driver: "docker", dataDir });
  const client = await CorralClient.connect({ natsUrl: nats.url, timeoutMs: 60_000 });
  const nc = await nats.connect();
  const clusterId = await readClusterId(nc);
  if (!clusterId) throw new Error(`cluster ${name}: the node started without making a cluster id`);
  const cluster: Cluster = { name, nats, dataDir, node, client, clusterId };
  clusters.push(cluster);
  return cluster;
}

/** Restarts `c`'s node on its data dir; `crashAt` arms a crash point (actors/node/crash-points.ts). */
async function restartNode(c: Cluster, crashAt?: string): Promise<void> {
  const env = crashAt ? { CORRAL_CRASH_AT: crashAt } : {};
  c.node = await spawnNode({ natsUrl: c.nats.url, nodeId: NODE_ID, driver: "docker", dataDir: c.dataDir, env });
}

/** The cluster's containers (by its label), id → name and state. */
async function containersOf(c: Cluster): Promise<Map<string, { sandboxId: string; state: string }>> {
  const list = await docker.listContainers({ all: true, filters: { label: [`corral.cluster=${c.clusterId}`] } });
  const out = new Map<string, { sandboxId: string; state: string }>();
  for (const info of list) out.set(info.Id, { sandboxId: info.Labels["corral.sandbox-id"]!, state: await containerState(docker, info.Id) });
  return out;
}

/** The container of one sandbox of `c` (its label), or fails. */
async function containerOf(c: Cluster, sandboxId: string): Promise<string> {
  const list = await docker.listContainers({ all: true, filters: { label: [`corral.cluster=${c.clusterId}`, `corral.sandbox-id=${sandboxId}`] } });
  expect(list.length).toBe(1);
  return list[0]!.Id;
}

/** Every engine event about `c`'s containers between two instants (the engine's log, read after the fact). */
async function engineEventsOf(c: Cluster, sinceMs: number, untilMs: number): Promise<string[]> {
  const stream = (await docker.getEvents({
    since: Math.floor(sinceMs / 1000),
    until: Math.ceil(untilMs / 1000) + 1,
    filters: { type: ["container"], label: [`corral.cluster=${c.clusterId}`] },
  })) as unknown as NodeJS.ReadableStream;
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { Action: string; id: string; timeNano: number })
    .filter((e) => e.timeNano / 1e6 >= sinceMs && e.timeNano / 1e6 <= untilMs)
    .map((e) => `${e.Action} ${e.id.slice(0, 12)}`);
}

/**
 * Runs `act` (which only touches cluster `actor`) and checks that the other
 * cluster's containers saw no engine event meanwhile and are all still there,
 * in the same state.
 */
async function untouched(other: Cluster, act: () => Promise<void>): Promise<void> {
  const before = await containersOf(other);
  const since = Date.now();
  await act();
  const until = Date.now();
  expect(await containersOf(other)).toEqual(before);
  expect(await engineEventsOf(other, since, until)).toEqual([]);
}

async function expectAlive(c: Cluster, running: SandboxRecord, paused: SandboxRecord): Promise<void> {
  expect(await c.client.get(running.sandboxId)).toMatchObject({ state: "running", revision: expect.any(Number) });
  expect(await c.client.get(paused.sandboxId)).toMatchObject({ state: "paused" });
  expect(await containerState(docker, await containerOf(c, running.sandboxId))).toBe("running");
  expect(await containerState(docker, await containerOf(c, paused.sandboxId))).toBe("paused");
}

beforeAll(async () => {
  docker = await requireDocker();
});

afterAll(async () => {
  for (const c of clusters) {
    await c.client.close().catch(() => undefined);
    await c.node?.stop().catch(() => undefined);
  }
  const left: string[] = [];
  for (const c of clusters) {
    // One at a time: concurrent removals can deadlock Docker 20.10's network controller.
    for (const id of (await containersOf(c)).keys()) {
      await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
      left.push(`${c.name}:${id.slice(0, 12)}`);
    }
  }
  for (const id of unlabelled) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
  if (left.length) console.info(`cluster-identity: removed ${left.join(" ")}`);
  for (const c of clusters) {
    await c.nats.stop();
    fs.rmSync(c.dataDir, { recursive: true, force: true });
  }
});

describe("two clusters on one Docker engine, both with node-1", () => {
  it("start, stop, restart each in turn and crash one mid-create: neither removes, pauses or adopts the other's containers", async () => {
    const a = await startCluster("a");
    const a1 = await a.client.create({ resources: SMALL, metadata: { test: "cluster-identity" } });
    const a2 = await a.client.create({ resources: SMALL });
    await a.client.pause(a2.sandboxId);

    // B's first start reconciles node-1 against ITS empty KV: A's containers are not its orphans.
    let b!: Cluster;
    await untouched(a, async () => {
      b = await startCluster("b");
    });
    expect(b.clusterId).not.toBe(a.clusterId);
    const b1 = await b.client.create({ resources: SMALL });
    const b2 = await b.client.create({ resources: SMALL });
    await b.client.pause(b2.sandboxId);

    // Each container carries its own cluster's label (and the name says so too).
    const a1Container = await docker.getContainer(await containerOf(a, a1.sandboxId)).inspect();
    expect(a1Container.Config.Labels).toMatchObject({ "corral.cluster": a.clusterId, "corral.node-id": NODE_ID, "corral.sandbox-id": a1.sandboxId });
    expect(a1Container.Name).toBe(`/corral-${a.clusterId}-${a1.sandboxId}-1`);

    // A container made before cluster ids (no cluster label) that neither KV knows: nobody's to touch.
    const strangerId = newSandboxId();
    const stranger = await docker.createContainer({
      name: `corral-${strangerId}-1`,
      Image: BASE_TEMPLATE.image,
      Labels: { "corral.sandbox-id": strangerId, "corral.node-id": NODE_ID, "corral.incarnation": "1" },
    });
    unlabelled.push(stranger.id);
    await stranger.start();

    // Stop and restart A, then B: each restart reconciles node-1 again.
    await untouched(b, async () => {
      await a.node!.stop();
      await restartNode(a);
    });
    await expectAlive(a, a1, a2);
    // B comes back armed to SIGKILL itself right after its next engine start (the intent `starting` is stored, the outcome is not).
    await untouched(a, async () => {
      await b.node!.stop();
      await restartNode(b, "start:after");
    });
    await expectAlive(b, b1, b2);
    expect(await containerState(docker, stranger.id)).toBe("running");

    // Crash B while a create has made and started its container but not yet stored or answered it.
    // Its own client with a short bound: the crashed node never answers, and nothing retries a create here.
    const doomed = await CorralClient.connect({ natsUrl: b.nats.url, timeoutMs: 5_000 });
    const inFlight = doomed
      .create({ resources: SMALL })
      .catch((err: unknown) => err)
      .finally(() => doomed.close());
    const crashed = b.node!;
    await waitUntil(() => crashed.child.signalCode === "SIGKILL", { timeoutMs: 30_000, what: "B to die at its crash point" });
    await crashed.crash(); // already dead: waits until nats-server has dropped its subscriptions
    const known = new Set<string>([b1.sandboxId, b2.sandboxId]);
    const halfMade = [...(await containersOf(b)).entries()].find(([, c]) => !known.has(c.sandboxId));
    if (!halfMade) throw new Error("B died at its crash point without a container of the create");
    expect(await inFlight).toBeInstanceOf(Error); // the create never answered success

    // A restarts while B is down with a half-made container on node-1: A leaves it alone.
    await untouched(b, async () => {
      await a.node!.stop();
      await restartNode(a);
    });
    expect((await containersOf(b)).has(halfMade[0])).toBe(true);
    await expectAlive(a, a1, a2);

    // B comes back: it cleans up its own half-made container, and nothing of A's.
    await untouched(a, async () => {
      await restartNode(b);
    });
    expect((await containersOf(b)).has(halfMade[0])).toBe(false);
    expect(await b.client.get(halfMade[1].sandboxId as SandboxId)).toMatchObject({ state: "killed", killReason: "start_failed" });
    await expectAlive(b, b1, b2);
    expect(await containerState(docker, stranger.id)).toBe("running");

    // Killing in one cluster removes only its own container.
    await untouched(a, async () => {
      await b.client.kill(b1.sandboxId);
    });
    expect([...(await containersOf(b)).values()].map((c) => c.sandboxId)).not.toContain(b1.sandboxId);
    await expectAlive(a, a1, a2);
  });

  it("adopts a container made before cluster ids only when its own KV knows the sandbox id", async () => {
    const [a, b] = clusters as [Cluster, Cluster];
    const s = await a.client.create({ resources: SMALL });
    const handle = await containerOf(a, s.sandboxId);
    // An unlabelled twin of A's sandbox (what an older Corral left behind): A's KV knows the id, B's does not.
    const twin = await docker.createContainer({
      name: `corral-${s.sandboxId}-${randomBytes(2).toString("hex")}`,
      Image: BASE_TEMPLATE.image,
      Labels: { "corral.sandbox-id": s.sandboxId, "corral.node-id": NODE_ID, "corral.incarnation": "1" },
    });
    unlabelled.push(twin.id);
    await twin.start();

    await b.node!.stop();
    await restartNode(b);
    expect(await containerState(docker, twin.id)).toBe("running"); // B: not in its KV, not its to touch

    await a.node!.stop();
    await restartNode(a);
    // A: its KV names the sandbox with another handle, so the twin is A's orphan and goes.
    expect(await containerState(docker, twin.id)).toBe("missing");
    expect(await containerState(docker, handle)).toBe("running");
    expect(await a.client.get(s.sandboxId)).toMatchObject({ state: "running" });
  });
});

describe("two clusters with the process driver, both node-1 on ONE data dir", () => {
  // What two `corral node --node-id node-1` started from one working directory
  // share: the default data dir, so the same adoption-file directory.
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-cluster-proc-"));
  const servers: NatsServer[] = [];
  const nodes: TestNode[] = [];

  afterAll(async () => {
    for (const n of nodes) await n.stop().catch(() => undefined);
    // Every process in this data dir is this test's (the dir is its own).
    const driver = new ProcessDriver({ dataDir });
    for (const i of await driver.list(NODE_ID)) await driver.remove(i.handle);
    await driver.close();
    for (const s of servers) await s.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  async function start(nats: NatsServer): Promise<TestNode> {
    const n = await startNode({ natsUrl: nats.url, nodeId: NODE_ID, driver: "process", dataDir });
    nodes.push(n);
    return n;
  }

  /** The cluster's processes as its own scoped listing sees them: sandbox id → state. */
  async function processesOf(clusterId: ClusterId): Promise<Record<string, string>> {
    const driver = new ProcessDriver({ dataDir });
    try {
      const listed = await driver.list({ nodeId: NODE_ID, clusterId });
      return Object.fromEntries(listed.map((i) => [i.sandboxId, i.state]));
    } finally {
      await driver.close();
    }
  }

  it("start, stop and restart each in turn: neither kills, pauses or adopts the other's processes", async () => {
    const natsA = await startNats();
    const natsB = await startNats();
    servers.push(natsA, natsB);
    let a = await start(natsA);
    const a1 = await a.client.create({ resources: SMALL });
    const a2 = await a.client.create({ resources: SMALL });
    await a.client.pause(a2.sandboxId);
    const aProcesses = { [a1.sandboxId]: "running", [a2.sandboxId]: "paused" };
    expect(await processesOf(a.node.clusterId)).toEqual(aProcesses);

    let b = await start(natsB);
    expect(b.node.clusterId).not.toBe(a.node.clusterId);
    expect(await processesOf(a.node.clusterId)).toEqual(aProcesses);
    const b1 = await b.client.create({ resources: SMALL });
    const bProcesses = { [b1.sandboxId]: "running" };
    expect(await processesOf(b.node.clusterId)).toEqual(bProcesses);
    // Each adoption file names its cluster.
    const files = fs.readdirSync(path.join(dataDir, "sandboxes")).filter((f) => f.endsWith(".json"));
    expect(files.sort()).toEqual([`${a.node.clusterId}-${a1.sandboxId}-1.json`, `${a.node.clusterId}-${a2.sandboxId}-1.json`, `${b.node.clusterId}-${b1.sandboxId}-1.json`].sort());

    await a.stop();
    a = await start(natsA);
    expect(await processesOf(b.node.clusterId)).toEqual(bProcesses);
    expect(await processesOf(a.node.clusterId)).toEqual(aProcesses);
    await b.stop();
    b = await start(natsB);
    expect(await processesOf(a.node.clusterId)).toEqual(aProcesses);
    expect(await processesOf(b.node.clusterId)).toEqual(bProcesses);
    expect(await a.client.get(a2.sandboxId)).toMatchObject({ state: "paused" });
    expect(await b.client.get(b1.sandboxId)).toMatchObject({ state: "running" });

    await b.client.kill(b1.sandboxId);
    expect(await processesOf(b.node.clusterId)).toEqual({});
    expect(await processesOf(a.node.clusterId)).toEqual(aProcesses);
  });
});
