// Events follow writes (issue 14, item 3; DESIGN.md "Cluster"): a `corral node`
// process that is SIGKILLed between a record's KV write and its event publish
// (the store's CORRAL_TEST_CRASH_BEFORE_EVENT hook) loses that event; the
// re-publisher of another live node process (live path) or of the next start
// of the same node (catch-up path) puts it into CORRAL_EVENTS, exactly once,
// and a proxy route table that missed it converges to the written record.
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RouteTable } from "../../actors/proxy/route-table.js";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { UnavailableError } from "../../src/errors.js";
import { REPUBLISHED_EVENT, decodeEvent, type SandboxEvent } from "../../src/events.js";
import type { SandboxId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import { SandboxStore } from "../../src/store/index.js";
import { EVENTS_STREAM, subjects } from "../../src/subjects.js";
import { testNodeId } from "../helpers/docker.js";
import { startNats, type NatsServer } from "../helpers/nats.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const CRASH = { CORRAL_TEST_CRASH_BEFORE_EVENT: "set_timeout" };
const nodeA = testNodeId("repubA");
const nodeB = testNodeId("repubB");

let server: NatsServer;
let nc: NatsConnection;
let store: SandboxStore;
let routes: RouteTable;
let client: CorralClient;
/** For the request the crash interrupts: it gets no reply. */
let doomed: CorralClient;
const nodes: SpawnedNode[] = [];
const dataDirs = new Map<string, string>();

const spawn = async (nodeId: typeof nodeA, env: NodeJS.ProcessEnv = {}) => {
  const n = await spawnNode({ natsUrl: server.url, nodeId, driver: "process", dataDir: dataDirs.get(nodeId), env });
  dataDirs.set(nodeId, n.dataDir);
  nodes.push(n);
  return n;
};

const exited = (n: SpawnedNode) =>
  n.child.exitCode !== null || n.child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => n.child.once("exit", () => r()));

/** Every event of `id` in CORRAL_EVENTS, in stream order. */
async function streamEvents(id: SandboxId): Promise<SandboxEvent[]> {
  const jsm = await jetstreamManager(nc);
  const out: SandboxEvent[] = [];
  const info = await jsm.streams.info(EVENTS_STREAM, { subjects_filter: subjects.sandboxEvents(id) });
  if ((info.state.subjects?.[subjects.sandboxEvents(id)] ?? 0) === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const sm = await jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
    if (sm !== null && sm.subject === subjects.sandboxEvents(id)) out.push(decodeEvent(sm.data));
  }
  return out;
}

/** Writes a set_timeout through a node that dies before publishing its event; returns the record the KV then holds. */
async function crashedSetTimeout(id: SandboxId, owner: SpawnedNode) {
  const before = await store.get(id);
  await expect(doomed.setTimeout(id, 600_000)).rejects.toBeInstanceOf(UnavailableError);
  await exited(owner);
  expect(owner.child.signalCode).toBe("SIGKILL");
  const written = await store.get(id);
  expect(written!.revision).toBeGreaterThan(before!.revision);
  expect(written!.endAt).not.toBe(before!.endAt);
  return { before: before!, written: written! };
}

beforeAll(async () => {
  server = await startNats();
  nc = await server.connect();
  store = await SandboxStore.open(nc, resolveConfig({}, {}));
  routes = new RouteTable(nc, store, logger("test-routes"), { tombstoneMs: 3_600_000 });
  await routes.start();
  client = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 30_000 });
  doomed = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 3_000 });
});

afterAll(async () => {
  routes?.close();
  await client?.close();
  await doomed?.close();
  for (const n of nodes) await n.stop();
  for (const [nodeId, dir] of dataDirs) await removeSandboxesOf("process", nodeId as typeof nodeA, dir);
  await server?.stop();
});

describe("a writer SIGKILLed between the KV write and the event", () => {
  it("live: another node's re-publisher puts the event into CORRAL_EVENTS once, and the proxy view converges", async () => {
    const a = await spawn(nodeA, CRASH);
    const created = await client.create({ timeoutMs: 120_000 });
    expect(created.nodeId).toBe(nodeA);
    const id = created.sandboxId as SandboxId;
    await spawn(nodeB);

    // The re-publisher may have acted before the doomed request timed out:
    // that the writer never published shows as the stream's only event at
    // the write's revision being a re-published one.
    const { written } = await crashedSetTimeout(id, a);
    await waitUntil(() => routes.get(id)?.revision === written.revision, { timeoutMs: 15_000, what: "the route table to converge" });
    expect(routes.get(id)!.endAt).toBe(written.endAt);
    const events = await streamEvents(id);
    const atWrite = events.filter((e) => e.revision === written.revision);
    expect(atWrite).toHaveLength(1);
    expect(atWrite[0]).toMatchObject({ event: REPUBLISHED_EVENT, from: "running", to: "running", nodeId: nodeA });
    expect(atWrite[0]!.record.endAt).toBe(written.endAt);
  });

  it("catch-up: with no node alive, the next start re-publishes the lost event before it writes anything", async () => {
    await nodes.find((n) => n.nodeId === nodeB)!.stop();
    const a = await spawn(nodeA, CRASH); // adopts the first test's sandbox
    const created = await client.create({ timeoutMs: 120_000 });
    const id = created.sandboxId as SandboxId;

    const { before, written } = await crashedSetTimeout(id, a);
    // Nothing is alive that could publish it: the stream ends before the write.
    expect((await streamEvents(id)).map((e) => e.revision)).not.toContain(written.revision);
    expect(routes.get(id)?.revision).toBe(before.revision);

    await spawn(nodeA);
    const events = await streamEvents(id);
    const atWrite = events.filter((e) => e.revision === written.revision);
    expect(atWrite).toHaveLength(1);
    expect(atWrite[0]).toMatchObject({ event: REPUBLISHED_EVENT, to: "running", nodeId: nodeA });
    // Published before the restarted node's own writes (reconcile): in the stream, nothing newer precedes it.
    const index = events.indexOf(atWrite[0]!);
    expect(events.slice(0, index).every((e) => e.revision < written.revision)).toBe(true);
    await waitUntil(() => (routes.get(id)?.revision ?? 0) >= written.revision, { timeoutMs: 10_000, what: "the route table to converge" });
    expect((await client.get(id)).endAt).toBe(written.endAt);
  });
});
