/**
 * The proxy suite's measurements that need a real node and driver:
 * - the auto-resume cold path (a GET through a replica to a paused
 *   auto-resume sandbox), the raw resume (the driver's own resume + a GET
 *   straight to the sandbox), the API's resume + the same GET, and with
 *   docker the contract's floor (bench/floors), interleaved per iteration,
 *   each after the same idle time;
 * - convergence: after a pause / resume / kill through the API, the time
 *   from the settling write (its event's `at`) until each of three replicas
 *   answers by the new state. Probes go to a port nothing listens on:
 *   `running` answers 502, `paused` 409, `killing` 410, and a request that
 *   arrives during `pausing` or `resuming` is held until the replica applies
 *   the settled state, so the answer marks convergence within a round trip.
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
import { newClusterId, newSandboxId, type SandboxId } from "../../../src/ids.js";
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

/** `GET /id` straight to a sandbox's port 8080. */
const getId = (endpoint: Endpoint) => httpGet(endpoint.host, endpoint.ports["8080"] ?? 8080, "/id", { timeoutMs: HELD_MS });

/**
 * Sends requests to one replica, a new one every millisecond with up to
 * MAX_IN_FLIGHT outstanding (a request forwarded to a sandbox being torn
 * down can wait for the connect timeout and must not hide the answers behind it).
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
export type LifecycleSamples = Record<"rawMs" | "apiMs" | "coldMs" | "floorMs" | "convergeMs", number[]>;

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
    const spec = { sandboxId: newSandboxId(), nodeId: `${node.nodeId}-raw` as typeof node.nodeId, clusterId: newClusterId(), template: BASE_TEMPLATE, env: {}, resources: { cpu: 1, memoryMB: 128 }, incarnation: 1 };
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
    const floorNode = await startContractFloor(ctx, nc, box.handle, encodeMsgpack(await store.get(cold.sandboxId)).length);
    const port = await startProxyFloor(ctx, floorNode.prefix, { host: box.endpoint.host, port: box.endpoint.ports["8080"] ?? 8080 });
    floor = { pause: floorNode.pause, port, sandboxId: box.sandboxId };
  }
  const samples: LifecycleSamples = { rawMs: [], apiMs: [], coldMs: [], floorMs: [], convergeMs: [] };
  // Pause, idle (which also lets the paused event reach the replicas), then time the resume until GET /id answers the id.
  const timeResume = async (into: number[], pause: () => Promise<unknown>, resumeAndGet: () => Promise<{ status: number; body: string }>, id: string) => {
    await pause();
    await sleep(IDLE_MS);
    const t0 = nowMs();
    const res = await resumeAndGet();
    if (res.status !== 200 || res.body.trim() !== id) throw new Error(`GET /id of ${id} answered ${res.status}: ${res.body}`);
    into.push(nowMs() - t0);
  };
  for (let i = 0; i < iterations; i++) {
    await timeResume(samples.rawMs, () => raw.pause(rawBox.handle, "freeze"), async () => getId(await raw.resume(rawBox.handle, "freeze")), rawBox.sandboxId);
    await timeResume(samples.apiMs, () => client.pause(api.sandboxId), () => client.resume(api.sandboxId).then(() => getId(apiEndpoint)), api.sandboxId);
    await timeResume(samples.coldMs, () => client.pause(cold.sandboxId), () => httpGet("127.0.0.1", replicas[0]!, "/id", { headers: coldHeaders, timeoutMs: HELD_MS }), cold.sandboxId);
    if (floor) await timeResume(samples.floorMs, floor.pause, () => httpGet("127.0.0.1", floor.port, "/id", { timeoutMs: HELD_MS }), floor.sandboxId);
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
