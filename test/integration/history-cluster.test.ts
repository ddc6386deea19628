// A history run on a 3-server nats-server cluster (issue 14, item 6): the
// buckets and CORRAL_EVENTS at 3 replicas, a `corral node` process (process
// driver), 6 concurrent clients over the URL list, and the server that leads
// `KV_corral_sandboxes` SIGKILLed mid-run (restarted after the run). The
// recorded history is checked by test/history/checker.ts; the target is 0
// anomalies.
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { SandboxStore } from "../../src/store/index.js";
import { kvStream } from "../../src/store/buckets.js";
import { SANDBOX_BUCKET } from "../../src/subjects.js";
import { testNodeId } from "../helpers/docker.js";
import { startNatsCluster, type ClusterServer, type NatsCluster } from "../helpers/nats-cluster.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";
import { checkHistory } from "../history/checker.js";
import { explainSandbox } from "../history/explain.js";
import { Recorder, eventsBehindWrites, readEventStream } from "../history/recorder.js";
import { runWorkload } from "../history/workload.js";

const CLIENTS = 6;
const OPS_PER_CLIENT = 50;
const FAULT_AFTER_OPS = 100;
const nodeId = testNodeId("histclu");
const config = resolveConfig({ replicas: 3 }, {});

let cluster: NatsCluster;
let nc: NatsConnection;
let store: SandboxStore;
let node: SpawnedNode;
let clients: CorralClient[] = [];

beforeAll(async () => {
  cluster = await startNatsCluster();
  nc = await cluster.connect();
  // At info level the node says when its re-publisher caught up and from where (printed if the events fall behind).
  node = await spawnNode({ natsUrl: cluster.url, nodeId, driver: "process", config: { replicas: 3 }, env: { CORRAL_LOG_LEVEL: "info" } });
  store = await SandboxStore.open(nc, config);
  clients = await Promise.all(Array.from({ length: CLIENTS }, () => CorralClient.connect({ natsUrl: cluster.url, timeoutMs: 10_000 })));
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.close()));
  await node?.stop();
  if (node) await removeSandboxesOf("process", nodeId, node.dataDir);
  await cluster?.stop();
});

// The recorder reads CORRAL_EVENTS by sequence up to the stream's last
// sequence, each read retried across leader changes (recorder.ts): a
// consumer's `pending` once read 0 at the SIGKILL and the history ended there.
it("SIGKILL of the KV stream's leader mid-run: 0 anomalies", async () => {
  const recorder = new Recorder();
  const run = runWorkload({ clients, recorder, opsPerClient: OPS_PER_CLIENT, seed: 1404 });
  await waitUntil(() => recorder.ops.length >= FAULT_AFTER_OPS, { timeoutMs: 120_000, what: `${FAULT_AFTER_OPS} answers before the fault` });
  const leader: ClusterServer | null = await cluster.streamLeader(kvStream(SANDBOX_BUCKET));
  expect(leader).not.toBeNull();
  const faultAt = Date.now();
  await leader!.kill();
  await run;
  const overlapping = recorder.ops.filter((o) => o.endMs >= faultAt && o.startMs <= faultAt + 5_000).length;
  await leader!.start();
  let behind: string[] = [];
  try {
    await waitUntil(async () => (behind = await eventsBehindWrites(nc, store)).length === 0, { timeoutMs: 30_000, what: "every write's event in CORRAL_EVENTS" });
  } catch (err) {
    // What a red run needs to be understood from its log alone: the writes without an event, and what the node said of events.
    const said = node.output().split("\n").filter((l) => /republish|outbox|event|watch|caught up/i.test(l));
    console.info(`writes without an event (sandbox@revision): ${behind.join(", ")}\nthe node's log on events (${said.length} lines, last 40):\n${said.slice(-40).join("\n")}`);
    throw err;
  }
  const events = await readEventStream(nc);
  const history = { ops: recorder.ops, events, maxLifetimeMs: config.maxLifetimeMs };
  const anomalies = checkHistory(history);
  console.info(`history cluster leader SIGKILL (${leader!.name}): ${recorder.ops.length} ops ${JSON.stringify(recorder.outcomes())} (${recorder.ops.filter((o) => o.op === "list").length} lists), ${events.length} events, ${overlapping} ops in the 5 s after the fault, ${anomalies.length} anomalies`);
  for (const a of anomalies) console.info(`  ${a.kind} ${a.sandboxId}: ${a.detail}`);
  for (const id of new Set(anomalies.map((a) => a.sandboxId))) console.info(`timeline of ${id}:\n  ${explainSandbox(history, id).join("\n  ")}`);
  expect(recorder.ops).toHaveLength(CLIENTS * OPS_PER_CLIENT);
  expect(anomalies).toEqual([]);
});
