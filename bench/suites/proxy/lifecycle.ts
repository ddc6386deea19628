/**
 * The proxy suite's measurements that need a real node and driver:
 *
 * - auto-resume cold path: a request through a replica to a paused
 *   auto-resume sandbox until its answer, against the raw floor (the driver's
 *   own resume of a paused sandbox plus one request straight to it), the
 *   API's own resume (same GET, no proxy) and, with docker, the contract's
 *   floor (bench/floors: a raw proxy and a raw node doing only what the
 *   contract requires). The paths are interleaved per iteration, each after
 *   the same idle time, so a drift of the machine's speed weighs on each alike.
 * - convergence: after a pause / resume / kill through the API, the time
 *   from the write of the settling record (the event's `at`) until each of
 *   three replicas answers by the new state. A prober per replica sends
 *   requests to a port nothing listens on: `running` answers 502 at once,
 *   `paused` 409, `killing` 410, and a request that arrives during `pausing`
 *   or `resuming` is held by the replica until it applies the settled state,
 *   so the answer marks the moment of convergence within one round trip.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import http from "node:http";
import path from "node:path";
import { CorralClient } from "../../../src/client/client.js";
import { encodeMsgpack } from "../../../src/codec.js";
import { resolveConfig } from "../../../src/config.js";
import { createDriver } from "../../../src/drivers/create.js";
import type { DriverKind } from "../../../src/drivers/types.js";
import { decodeEvent, type SandboxEvent } from "../../../src/events.js";
import { newSandboxId, type SandboxId } from "../../../src/ids.js";
import type { Endpoint } from "../../../src/schema/record.js";
import { SandboxStore } from "../../../src/store/sandbox-store.js";
import { subjects } from "../../../src/subjects.js";
import { BASE_TEMPLATE } from "../../../src/templates.js";
import { startContractFloor } from "../../floors/contract-floor.js";
import { startProxyFloor } from "../../floors/proxy-floor.js";
import { startBenchNode } from "../../lib/bench-node.js";
import { httpGet } from "../../lib/http.js";
import { nowMs } from "../../lib/stats.js";
import type { SuiteContext } from "../../lib/types.js";
import { startReplica } from "./replica.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Idle time before each resume measurement (the same for every path). */
const IDLE_MS = 20;
/** A held request may wait for the sandbox's connect timeout: far longer than any measurement. */
const HELD_MS = 60_000;

/** Status of `GET /id` straight to a sandbox's port 8080. */
const getId = async (endpoint: Endpoint) => (await httpGet(endpoint.host, endpoint.ports["8080"] ?? 8080, "/id", { timeoutMs: HELD_MS })).status;

/**
 * Sends requests to one replica, a new one every millisecond with up to
 * MAX_IN_FLIGHT outstanding, and reports each answer's status and time. Not
 * strictly one after another: a request the replica forwarded to a sandbox
 * that is being torn down can wait for the connect timeout, and must not
 * hide the answers to the requests behind it.
 */
const MAX_IN_FLIGHT = 8;
class Prober {
  readonly #agent = new http.Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT });
  #stopped = false;
  #inFlight = 0;
  #waiters: { status: number; resolve: (at: number) => void }[] = [];

  constructor(port: number, headers: Record<string, string>) {
    const one = async () => {
      this.#inFlight++;
      const r = await httpGet("127.0.0.1", port, "/", { headers, agent: this.#agent, timeoutMs: HELD_MS }).catch(() => ({ status: 0 }));
      this.#inFlight--;
      const at = Date.now();
      this.#waiters = this.#waiters.filter((w) => (r.status === w.status ? (w.resolve(at), false) : true));
    };
    void (async () => {
      while (!this.#stopped) {
        if (this.#inFlight < MAX_IN_FLIGHT) void one();
        await sleep(1);
      }
    })();
  }

  /** Resolves with the time of the first answer with `status` from now on. */
  next(status: number): Promise<number> {
    return new Promise((resolve) => this.#waiters.push({ status, resolve }));
  }

  stop(): void {
    this.#stopped = true;
    this.#agent.destroy();
  }
}

/** Waits for the event of `id` that moves it to `to`, subscribed before `action` runs. */
async function eventOf(nc: NatsConnection, id: SandboxId, to: string, action: () => Promise<unknown>): Promise<SandboxEvent> {
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

/** Headers that route a request to `port` of a (secure) sandbox through a replica. */
function routeHeaders(sandbox: { sandboxId: string; trafficToken?: string | undefined }, port: number): Record<string, string> {
  if (!sandbox.trafficToken) throw new Error(`sandbox ${sandbox.sandboxId} has no traffic token`);
  return { Host: `${port}-${sandbox.sandboxId}.corral.localhost`, "X-Corral-Traffic-Token": sandbox.trafficToken };
}

/** Samples (ms) of each path; `floorMs` is empty but with docker. */
export interface LifecycleSamples {
  rawMs: number[];
  apiMs: number[];
  coldMs: number[];
  floorMs: number[];
  convergeMs: number[];
}

/** Runs both measurements, `iterations` each, with a `corral node` on `driver`. */
export async function runLifecycle(ctx: SuiteContext, driver: DriverKind, iterations: number, logDir: string): Promise<LifecycleSamples> {
  const node = await startBenchNode(ctx, driver);
  const replicas: number[] = [];
  for (let i = 0; i < 3; i++) replicas.push(await startReplica(ctx, path.join(logDir, `corral-replica-${i}.log`)));
  const client = await CorralClient.connect({ natsUrl: ctx.nats.url, timeoutMs: 60_000 });
  ctx.cleanup(() => client.close());
  const nc = await ctx.nats.connect();
  const store = await SandboxStore.open(nc, resolveConfig());
  const raw = createDriver(driver, { dataDir: node.dataDir });
  ctx.cleanup(() => raw.close());
  const startRaw = async () => {
    const spec = { sandboxId: newSandboxId(), nodeId: `${node.nodeId}-raw` as typeof node.nodeId, template: BASE_TEMPLATE, env: {}, resources: { cpu: 1, memoryMB: 128 }, incarnation: 1 };
    const started = await raw.start(spec);
    ctx.cleanup(() => raw.remove(started.handle).catch(() => undefined));
    return { ...started, sandboxId: spec.sandboxId };
  };

  const rawBox = await startRaw();
  const api = await client.create({ timeoutMs: 3_600_000 });
  // Freeze-mode pauses keep the endpoint, so it is read once.
  const apiEndpoint = (await store.get(api.sandboxId))!.internal.endpoint!;
  const cold = await client.create({ timeoutMs: 3_600_000, lifecycle: { autoResume: true } });
  const coldHeaders = routeHeaders(cold, 8080);
  let floor: { pause(): Promise<void>; port: number; sandboxId: string } | undefined;
  if (driver === "docker") {
    const box = await startRaw();
    const node = await startContractFloor(ctx, nc, box.handle, encodeMsgpack(await store.get(cold.sandboxId)).length);
    const port = await startProxyFloor(ctx, node.prefix, { host: box.endpoint.host, port: box.endpoint.ports["8080"] ?? 8080 });
    floor = { pause: node.pause, port, sandboxId: box.sandboxId };
  }
  const samples: LifecycleSamples = { rawMs: [], apiMs: [], coldMs: [], floorMs: [], convergeMs: [] };
  for (let i = 0; i < iterations; i++) {
    await raw.pause(rawBox.handle, "freeze");
    await sleep(IDLE_MS);
    let t0 = nowMs();
    const r = await getId(await raw.resume(rawBox.handle, "freeze"));
    if (r !== 200) throw new Error(`raw GET /id answered ${r}`);
    samples.rawMs.push(nowMs() - t0);

    await client.pause(api.sandboxId);
    await sleep(IDLE_MS);
    t0 = nowMs();
    await client.resume(api.sandboxId);
    const a = await getId(apiEndpoint);
    if (a !== 200) throw new Error(`GET /id after the API resume answered ${a}`);
    samples.apiMs.push(nowMs() - t0);

    await client.pause(cold.sandboxId);
    await sleep(IDLE_MS); // also lets the paused event reach the replica (it leaves with the reply)
    t0 = nowMs();
    const c = await httpGet("127.0.0.1", replicas[0]!, "/id", { headers: coldHeaders, timeoutMs: HELD_MS });
    if (c.status !== 200 || c.body !== cold.sandboxId) throw new Error(`cold path answered ${c.status}: ${c.body}`);
    samples.coldMs.push(nowMs() - t0);

    if (floor) {
      await floor.pause();
      await sleep(IDLE_MS);
      t0 = nowMs();
      const f = await httpGet("127.0.0.1", floor.port, "/id", { timeoutMs: HELD_MS });
      if (f.status !== 200 || f.body !== floor.sandboxId) throw new Error(`the contract floor's cold path answered ${f.status}: ${f.body}`);
      samples.floorMs.push(nowMs() - t0);
    }
  }
  await client.kill(api.sandboxId);
  await client.kill(cold.sandboxId);

  const conv = await client.create({ timeoutMs: 3_600_000 });
  const probers = replicas.map((port) => new Prober(port, routeHeaders(conv, 9)));
  ctx.cleanup(() => probers.forEach((p) => p.stop()));
  const measure = async (status: number, to: string, action: () => Promise<unknown>) => {
    const answered = probers.map((p) => p.next(status));
    const event = await eventOf(nc, conv.sandboxId, to, action);
    for (const at of await Promise.all(answered)) samples.convergeMs.push(Math.max(0, at - event.at));
  };
  for (let i = 0; i < iterations; i++) {
    await measure(409, "paused", () => client.pause(conv.sandboxId));
    await measure(502, "running", () => client.resume(conv.sandboxId));
  }
  // A kill answers 410 from `killing` on: that write is the one to converge on.
  await measure(410, "killing", () => client.kill(conv.sandboxId));
  return samples;
}
