/**
 * api: the `corral` service served by a real `corral node` process (process
 * driver). set_timeout through the service (a bare NATS request with a JSON
 * body, as `nats req` sends it) and through the typed client, each against
 * one raw KV CAS update interleaved; then creates/s and kills/s with
 * `clients` concurrent clients against the process driver alone at the same
 * concurrency (the engine's own ceiling on the machine).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeJson, decodeJson } from "../../src/codec.js";
import { CorralClient } from "../../src/client/client.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import { testNodeId } from "../../test/helpers/docker.js";
import { newClusterId, newSandboxId } from "../../src/ids.js";
import { subjects } from "../../src/subjects.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { startBenchNode } from "../lib/bench-node.js";
import { alternate, closedLoop, latencyRows } from "../lib/measure.js";
import { BENCH_RESOURCES } from "../lib/raw-docker.js";
import { openRawCas } from "../lib/raw-kv.js";
import { summarize, timeMs } from "../lib/stats.js";
import { defineSuite, type Row } from "../lib/types.js";

/** Long enough that no benchmark sandbox times out during the run. */
const LONG_TIMEOUT_MS = 3_600_000;

export const suite = defineSuite({
  name: "api",
  description: "set_timeout via the service and the client vs raw KV CAS; creates/s with N clients (process driver)",
  params: {
    iterations: { default: 2000, quick: 50, doc: "recorded set_timeouts per side and path" },
    warmup: { default: 100, quick: 5, doc: "unrecorded set_timeouts per side first" },
    clients: { default: 20, doc: "concurrent clients of the create/kill load" },
    creates: { default: 600, quick: 40, doc: "sandboxes created (and killed) by the load, and started by the driver baseline" },
  },
  async run(ctx) {
    const { progress, cleanup } = ctx;
    const { iterations, warmup, clients, creates } = ctx.params;
    const node = await startBenchNode(ctx, "process");
    const client = await CorralClient.connect({ natsUrl: ctx.nats.url, timeoutMs: 60_000 });
    cleanup(() => client.close());
    const nc = client.nats;
    const raw = await openRawCas(nc, "api");

    const { sandboxId } = await client.create({ timeoutMs: LONG_TIMEOUT_MS });
    let timeoutMs = LONG_TIMEOUT_MS;
    // Each call moves the deadline, so every one is a real write.
    const nextTimeout = () => (timeoutMs = timeoutMs === LONG_TIMEOUT_MS ? LONG_TIMEOUT_MS - 1 : LONG_TIMEOUT_MS);
    const viaService = () =>
      timeMs(async () => {
        const msg = await nc.request(subjects.api("set_timeout"), encodeJson({ sandboxId, timeoutMs: nextTimeout() }), { timeout: 10_000 });
        if (msg.headers?.get("Nats-Service-Error-Code")) throw new Error(`set_timeout failed: ${JSON.stringify(decodeJson(msg.data))}`);
      });
    const viaClient = () => timeMs(() => client.setTimeout(sandboxId, nextTimeout()));
    progress(`api: ${iterations + warmup} set_timeouts per side and path`);
    const service = latencyRows("set_timeout via service vs kv.update", await alternate(iterations, warmup, raw.update, viaService), {
      p50: { kind: "ratio", max: 5 },
    });
    const typed = latencyRows("set_timeout via client vs kv.update", await alternate(iterations, warmup, raw.update, viaClient), {
      p50: { kind: "ratio", max: 5 },
    });
    await client.kill(sandboxId);

    progress(`api: ${creates} starts by the process driver alone, ${clients} at a time`);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-driver-"));
    const driver = new ProcessDriver({ dataDir });
    const handles: string[] = [];
    cleanup(async () => {
      await Promise.allSettled(handles.map((h) => driver.remove(h)));
      await driver.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    });
    const driverNode = testNodeId("bench-driver");
    const driverCluster = newClusterId();
    const starts = await closedLoop(clients, creates, async () => {
      const spec = { sandboxId: newSandboxId(), nodeId: driverNode, clusterId: driverCluster, template: BASE_TEMPLATE, env: {}, resources: BENCH_RESOURCES, incarnation: 1 };
      handles.push((await driver.start(spec)).handle);
    });
    const removes = await closedLoop(clients, handles.length, (i) => driver.remove(handles[i]!));
    handles.length = 0;

    progress(`api: ${creates} creates through the API by ${clients} clients, then as many kills`);
    const pool = await Promise.all(Array.from({ length: clients }, () => CorralClient.connect({ natsUrl: ctx.nats.url, timeoutMs: 120_000 })));
    cleanup(() => Promise.all(pool.map((c) => c.close())).then(() => undefined));
    const ids: string[] = [];
    const created = await closedLoop(clients, creates, async (_, w) => {
      ids.push((await pool[w]!.create({ timeoutMs: LONG_TIMEOUT_MS })).sandboxId);
    });
    const killed = await closedLoop(clients, ids.length, (i, w) => pool[w]!.kill(ids[i]!));

    const perSecond = (metric: string, baseline: number, corral: number): Row => ({ metric, unit: "ops/s", baseline, corral, target: null });
    const createLat = { baseline: summarize(starts.latencies), corral: summarize(created.latencies) };
    const rows: Row[] = [
      ...service.rows,
      ...typed.rows,
      perSecond(`creates/s, ${clients} clients`, starts.perSecond, created.perSecond),
      { metric: `create latency p50, ${clients} clients`, unit: "ms", baseline: createLat.baseline.p50, corral: createLat.corral.p50, target: null },
      { metric: `create latency p99, ${clients} clients`, unit: "ms", baseline: createLat.baseline.p99, corral: createLat.corral.p99, target: null },
      perSecond(`kills/s, ${clients} clients`, removes.perSecond, killed.perSecond),
    ];
    return {
      rows,
      notes: [
        `node ${node.nodeId}: a \`corral node --driver process\` child process serving the API`,
        "creates/kills: baseline = ProcessDriver.start/remove in the bench process, same concurrency (no KV, no API); context, no target",
      ],
      details: {
        setTimeoutService: service.summaries,
        setTimeoutClient: typed.summaries,
        createLatency: createLat,
        killLatency: { baseline: summarize(removes.latencies), corral: summarize(killed.latencies) },
      },
    };
  },
});
