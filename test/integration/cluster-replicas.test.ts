// Issue 14 item 4 on a real 3-server cluster started from deploy/nats-cluster.conf:
// `corral node --replicas N` / CORRAL_REPLICAS creates corral_sandboxes,
// corral_nodes and CORRAL_EVENTS with N replicas, raises fewer in place (and
// logs it), never lowers; invalid values are start-up errors naming the
// value. (Waiting for NATS at start: deploy.test.ts and proxy-process.test.ts.)
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { logger } from "../../src/log.js";
import { untilAvailable } from "../../src/nats/wait.js";
import { kvStream } from "../../src/store/buckets.js";
import { ensureClusterId } from "../../src/store/cluster-id.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { CLUSTER_BUCKET, EVENTS_STREAM, NODE_BUCKET, SANDBOX_BUCKET } from "../../src/subjects.js";
import { testNodeId } from "../helpers/docker.js";
import { startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.js";
import { CORRAL_BIN, removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const STREAMS = [kvStream(SANDBOX_BUCKET), kvStream(NODE_BUCKET), EVENTS_STREAM, kvStream(CLUSTER_BUCKET)];

function serverEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOG_LEVEL: "info", ...extra };
  delete env.VITEST; // a real server's logger, not a test's silenced one
  return env;
}

/** SIGTERM, then SIGKILL (said on the console, with the node's last output) if it has not exited in 20 s. */
async function stopBounded(n: SpawnedNode): Promise<void> {
  const stopped = n.stop();
  const inTime = await Promise.race([stopped.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 20_000))]);
  if (inTime) return;
  console.warn(`node ${n.nodeId} did not exit 20 s after SIGTERM; killing it. Last output:\n${n.output().slice(-2000)}`);
  n.child.kill("SIGKILL");
  await stopped;
}

const log = logger("test");

describe("replicas and start-up on a 3-server cluster", () => {
  let cluster: NatsCluster;
  let nc: NatsConnection;
  const nodes: SpawnedNode[] = [];

  beforeAll(async () => {
    cluster = await startNatsCluster();
    nc = await cluster.connect();
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) {
      await stopBounded(n);
      await removeSandboxesOf("process", n.nodeId, n.dataDir);
      fs.rmSync(n.dataDir, { recursive: true, force: true });
    }
    await Promise.all(cluster.servers.filter((s) => !s.running()).map((s) => s.start()));
    await cluster.untilJetStream();
    const jsm = await jetstreamManager(nc);
    for (const stream of STREAMS) {
      await waitUntil(() => jsm.streams.delete(stream).catch((e: Error) => e.message.includes("not found")), { timeoutMs: 20_000, what: `${stream} deleted` });
    }
  });
  afterAll(async () => {
    await cluster?.stop();
  }, 60_000);

  const replicasOf = async () => Promise.all(STREAMS.map(async (s) => (await cluster.streamReplicas(s)).replicas));

  it("--replicas 3 creates the buckets and the events stream with 3 replicas, all current", async () => {
    nodes.push(await spawnNode({ natsUrl: cluster.url, driver: "process", config: { replicas: 3 } }));
    expect(await replicasOf()).toEqual([3, 3, 3, 3]);
    for (const s of STREAMS) await waitUntil(async () => (await cluster.streamReplicas(s)).current === 3, { timeoutMs: 20_000, what: `${s} peers current` });
  });

  it("raises R1 to R3 in place keeping the records, logs it, and a node told fewer never lowers them", async () => {
    // As a node does (`untilAvailable`): right after the previous test deleted the streams, the
    // cluster's servers may still disagree on whether a stream exists (`unavailable`, retryable).
    const store = await untilAvailable("open R1 buckets", () => SandboxStore.open(nc, resolveConfig({ replicas: 1 }, {})), log);
    const { record } = await store.createIfAbsent(makeStoredSandbox());
    await store.close();
    const clusterId = await untilAvailable("R1 cluster id", () => ensureClusterId(nc, { replicas: 1 }), log);
    expect(await replicasOf()).toEqual([1, 1, 1, 1]);

    const raiser = await spawnNode({ natsUrl: cluster.url, driver: "process", config: { replicas: 3 }, env: { CORRAL_LOG_LEVEL: "info" } });
    nodes.push(raiser);
    expect(await replicasOf()).toEqual([3, 3, 3, 3]);
    for (const s of STREAMS) expect(raiser.output()).toMatch(new RegExp(`"stream":"${s}","from":1,"to":3,"msg":"raising stream replicas to match configuration"`));
    const reopened = await SandboxStore.open(nc, resolveConfig({}, {}));
    expect((await reopened.get(record.sandboxId))?.revision).toBe(record.revision);
    expect(await ensureClusterId(nc)).toBe(clusterId); // raised in place: the identity is kept
    await reopened.close();

    const lower = await spawnNode({ natsUrl: cluster.url, driver: "process", config: { replicas: 1 }, env: { CORRAL_LOG_LEVEL: "info" } });
    nodes.push(lower);
    expect(await replicasOf()).toEqual([3, 3, 3, 3]);
    expect(lower.output()).toMatch(/"replicas":3,"configured":1,"msg":"stream has more replicas than configured; keeping them/);
  });

  it.each([
    [["--replicas", "7"], {}, '--replicas must be an integer from 1 to 5, got "7"'],
    [["--replicas", "0"], {}, '--replicas must be an integer from 1 to 5, got "0"'],
    [[], { CORRAL_REPLICAS: "three" }, 'CORRAL_REPLICAS must be an integer from 1 to 5, got "three"'],
  ])("corral node %j %j is a start-up error naming the value", (flags, env, message) => {
    const res = spawnSync(process.execPath, [CORRAL_BIN, "node", "--nats-url", cluster.url, "--node-id", testNodeId("bad"), "--driver", "process", ...flags], {
      encoding: "utf8",
      timeout: 20_000,
      env: serverEnv(env),
    });
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(`error: invalid_argument: ${message}`);
  });
});
