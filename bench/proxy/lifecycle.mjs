// The two measurements that need a real node actor and driver:
//
// - auto-resume cold path: a request through the proxy to a paused
//   auto-resume sandbox until its answer, against the raw floor (the driver's
//   own resume of a paused sandbox plus one request straight to it) and,
//   with docker, against the contract's floor (a raw proxy and a raw node
//   doing only what the contract requires: contract-floor-proxy.mjs and
//   bench/lib/contract-floor.mjs);
// - convergence: after a pause / resume through the API, the time from the
//   write of the settling record (the event's `at`) until each of three
//   replicas answers by the new state. A prober per replica sends requests
//   back to back on a port nothing listens on: `running` answers 502 at
//   once, `paused` 409, and a request that arrives during `pausing` or
//   `resuming` is held by the replica until it applies the settled state, so
//   the answer marks the moment of convergence within one round trip.
import http from "node:http";
import path from "node:path";
import { dist, ROOT, startCorralNode, startCorralProxy } from "./corral.mjs";
import { request } from "./http.mjs";
import { spawnReady, stop } from "./procs.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Idle time before each resume measurement (the same for every path). */
const IDLE_MS = 20;

/** GET /id straight to a sandbox endpoint; resolves with the status. */
function getId(endpoint) {
  const port = endpoint.ports["8080"] ?? 8080;
  return new Promise((resolve, reject) =>
    http
      .get({ host: endpoint.host, port, path: "/id", agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      })
      .on("error", reject),
  );
}

/**
 * Sends requests to one replica, a new one every millisecond with up to
 * MAX_IN_FLIGHT outstanding, and reports each answer's status and time. Not
 * strictly one after another: a request the replica forwarded to a sandbox
 * that is being torn down can wait for the connect timeout, and must not
 * hide the answers to the requests behind it.
 */
const MAX_IN_FLIGHT = 8;
class Prober {
  #agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  #stopped = false;
  #inFlight = 0;
  #waiters = [];
  constructor(port, headers) {
    this.port = port;
    this.headers = headers;
  }
  start() {
    const one = async () => {
      this.#inFlight++;
      const r = await request(this.port, "/", this.headers, { agent: this.#agent }).catch(() => ({ status: 0 }));
      this.#inFlight--;
      const at = Date.now();
      this.#waiters = this.#waiters.filter((w) => (r.status === w.status ? (w.resolve(at), false) : true));
    };
    const loop = async () => {
      while (!this.#stopped) {
        if (this.#inFlight < MAX_IN_FLIGHT) void one();
        await sleep(1);
      }
    };
    void loop();
  }
  /** Resolves with the time of the first answer with `status` from now on. */
  next(status) {
    return new Promise((resolve) => this.#waiters.push({ status, resolve }));
  }
  stop() {
    this.#stopped = true;
    this.#agent.destroy();
  }
}

/** Waits for the event of `id` that moves it to `to`, subscribed before `action` runs. */
async function eventOf(nc, subjects, decodeEvent, id, to, action) {
  const sub = nc.subscribe(subjects.sandboxEvents(id));
  const seen = (async () => {
    for await (const m of sub) {
      const e = decodeEvent(m.data);
      if (e.to === to) return e;
    }
    throw new Error(`no ${to} event for ${id}`);
  })();
  await nc.flush();
  try {
    await action();
    return await seen;
  } finally {
    sub.unsubscribe();
  }
}

/**
 * The cold path's contract floor (docker only): a raw container, the
 * contract's floor node on it (bench/lib/contract-floor.mjs) and the floor
 * proxy in front (contract-floor-proxy.mjs), each its own process.
 * `pause()` pauses it through the floor node; `port` is the floor proxy's.
 */
async function startColdFloor(natsUrl, nc, sandbox, recordBytes) {
  const prefix = `bench.floor.${process.pid}`;
  const node = await spawnReady("contract floor node", process.execPath, [path.join(ROOT, "bench/lib/contract-floor.mjs"), natsUrl, sandbox.handle, prefix, String(recordBytes)], {
    ready: (line) => line === "ready",
  });
  const { host, ports } = sandbox.endpoint;
  const proxy = await spawnReady("contract floor proxy", process.execPath, [path.join(ROOT, "bench/proxy/contract-floor-proxy.mjs"), natsUrl, prefix, host, String(ports["8080"] ?? 8080)], {
    ready: (line) => Number(/^port (\d+)$/.exec(line)?.[1]) || undefined,
  });
  return {
    port: proxy.value,
    async pause() {
      const reply = await nc.request(`${prefix}.pause`, new Uint8Array(0), { timeout: 60_000 });
      if (reply.data.length < 200 && new TextDecoder().decode(reply.data).startsWith("error: ")) throw new Error(`floor pause: ${new TextDecoder().decode(reply.data)}`);
    },
    async stop() {
      await stop(proxy.child);
      await stop(node.child);
    },
  };
}

/**
 * Runs both measurements with a `corral node` on `driver`. Returns
 * `{driver, rawMs, apiMs, coldMs, floorMs, convergeMs}` (arrays of ms;
 * `floorMs` empty but for docker).
 */
export async function runLifecycle({ natsUrl, driver, iterations, logDir }) {
  const [{ CorralClient }, { createDriver }, { BASE_TEMPLATE }, { newSandboxId, newClusterId }, { subjects }, { decodeEvent }, { encodeMsgpack }] = await Promise.all([
    dist("src/client/client.js"),
    dist("src/drivers/create.js"),
    dist("src/templates.js"),
    dist("src/ids.js"),
    dist("src/subjects.js"),
    dist("src/events.js"),
    dist("src/codec.js"),
  ]);
  const node = await startCorralNode(natsUrl, { driver, logFile: path.join(logDir, "corral-node.log") });
  const replicas = [];
  const client = await CorralClient.connect({ natsUrl, timeoutMs: 60_000 });
  const nc = await natsOf(natsUrl);
  const raw = createDriver(driver, { dataDir: node.dataDir });
  const rawCluster = newClusterId();
  const probers = [];
  let rawHandle;
  let floorHandle;
  let floor;
  try {
    for (let i = 0; i < 3; i++) replicas.push(await startCorralProxy(natsUrl, { logFile: path.join(logDir, `corral-replica-${i}.log`) }));

    // The paths, interleaved per iteration so that a drift of the machine's
    // speed during the run weighs on each the same, each after the same idle
    // time:
    // - raw floor: the driver resumes a sandbox it paused, then one GET /id straight to it;
    // - the API's own resume, plus the same GET, without the proxy;
    // - the cold path: paused by the API, woken by one request through a replica;
    // - with docker, the contract's floor: the same cold request through the floor proxy and node.
    const rawId = newSandboxId();
    const started = await raw.start({ sandboxId: rawId, nodeId: `${node.nodeId}-raw`, clusterId: rawCluster, template: BASE_TEMPLATE, env: {}, resources: { cpu: 1, memoryMB: 128 }, incarnation: 1 });
    rawHandle = started.handle;
    const api = await client.create({ timeoutMs: 3_600_000 });
    const { SandboxStore } = await dist("src/store/sandbox-store.js");
    const { resolveConfig } = await dist("src/config.js");
    const store = await SandboxStore.open(nc, resolveConfig());
    // Freeze-mode pauses keep the endpoint, so it is read once.
    const apiEndpoint = (await store.get(api.sandboxId)).internal.endpoint;
    const cold = await client.create({ timeoutMs: 3_600_000, lifecycle: { autoResume: true } });
    const via = replicas[0];
    const coldHeaders = { Host: `8080-${cold.sandboxId}.corral.localhost`, "X-Corral-Traffic-Token": cold.trafficToken };
    // The contract's floor of the cold path: what any proxy and node keeping the contract must do (docker only).
    const floorId = newSandboxId();
    if (driver === "docker") {
      const sandbox = await raw.start({ sandboxId: floorId, nodeId: `${node.nodeId}-raw`, clusterId: rawCluster, template: BASE_TEMPLATE, env: {}, resources: { cpu: 1, memoryMB: 128 }, incarnation: 1 });
      floorHandle = sandbox.handle;
      floor = await startColdFloor(natsUrl, nc, sandbox, encodeMsgpack(await store.get(cold.sandboxId)).length);
    }
    const rawMs = [];
    const apiMs = [];
    const coldMs = [];
    const floorMs = [];
    for (let i = 0; i < iterations; i++) {
      await raw.pause(rawHandle, "freeze");
      await sleep(IDLE_MS);
      let t0 = performance.now();
      const r = await getId(await raw.resume(rawHandle, "freeze"));
      if (r !== 200) throw new Error(`raw GET /id answered ${r}`);
      rawMs.push(performance.now() - t0);

      await client.pause(api.sandboxId);
      await sleep(IDLE_MS);
      t0 = performance.now();
      await client.resume(api.sandboxId);
      const a = await getId(apiEndpoint);
      if (a !== 200) throw new Error(`GET /id after the API resume answered ${a}`);
      apiMs.push(performance.now() - t0);

      await client.pause(cold.sandboxId);
      await sleep(IDLE_MS); // also lets the paused event reach the replica (it leaves with the reply)
      t0 = performance.now();
      const c = await request(via.port, "/id", coldHeaders);
      if (c.status !== 200 || c.body !== cold.sandboxId) throw new Error(`cold path answered ${c.status}: ${c.body}`);
      coldMs.push(performance.now() - t0);

      if (floor) {
        await floor.pause();
        await sleep(IDLE_MS);
        t0 = performance.now();
        const f = await request(floor.port, "/id");
        if (f.status !== 200 || f.body !== floorId) throw new Error(`the contract floor's cold path answered ${f.status}: ${f.body}`);
        floorMs.push(performance.now() - t0);
      }
    }
    await client.kill(api.sandboxId);

    // Convergence across three replicas.
    const conv = await client.create({ timeoutMs: 3_600_000 });
    const probeHeaders = { Host: `9-${conv.sandboxId}.corral.localhost`, "X-Corral-Traffic-Token": conv.trafficToken };
    for (const r of replicas) {
      const p = new Prober(r.port, probeHeaders);
      probers.push(p);
      p.start();
    }
    const convergeMs = [];
    const measure = async (status, to, action) => {
      const answered = probers.map((p) => p.next(status));
      const event = await eventOf(nc, subjects, decodeEvent, conv.sandboxId, to, action);
      for (const at of await Promise.all(answered)) convergeMs.push(Math.max(0, at - event.at));
    };
    for (let i = 0; i < iterations; i++) {
      await measure(409, "paused", () => client.pause(conv.sandboxId));
      await measure(502, "running", () => client.resume(conv.sandboxId));
    }
    // A kill answers 410 from `killing` on: that write is the one to converge on.
    await measure(410, "killing", () => client.kill(conv.sandboxId));
    return { driver, rawMs, apiMs, coldMs, floorMs, convergeMs };
  } finally {
    for (const p of probers) p.stop();
    await floor?.stop().catch(() => {});
    if (floorHandle) await raw.remove(floorHandle).catch(() => {});
    if (rawHandle) await raw.remove(rawHandle).catch(() => {});
    await client.close().catch(() => {});
    for (const r of replicas) await r.stop().catch(() => {});
    await node.destroy(raw).catch((err) => process.stderr.write(`bench/proxy: cleanup of node ${node.nodeId} failed: ${err}\n`));
    await raw.close().catch(() => {});
  }
}

let shared;
/** A NATS connection for the bench's own subscriptions. */
async function natsOf(url) {
  if (!shared) {
    const { connect } = await import("@nats-io/transport-node");
    shared = await connect({ servers: url });
  }
  return shared;
}

/** Closes the bench's own NATS connection. */
export async function closeLifecycle() {
  await shared?.close();
}
