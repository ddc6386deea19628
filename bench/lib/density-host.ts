/**
 * The density suite's node host: a child process that runs the real
 * `startNode` (test/helpers/node.ts, process driver) and answers
 * `bench.host.<nodeId>.stats` with its own memory and CPU usage, after a full
 * GC when asked (it runs with --expose-gc). Being its own process, what it
 * reports is the node's cost alone: not the bench's, not nats-server's, not
 * the sandboxes' (those are separate processes).
 *
 * This file is both the host process (`hostMain`, run through
 * bench/lib/child.mjs) and the suite's side of the protocol (`spawnDensityHost`).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { ChildProcess } from "node:child_process";
import fs from "node:fs";
import { Session } from "node:inspector/promises";
import path from "node:path";
import v8 from "node:v8";
import { decodeJson, encodeJson } from "../../src/codec.js";
import type { NodeId } from "../../src/ids.js";
import { startNode } from "../../test/helpers/node.js";
import { childArgs, spawnReady, stopChild } from "./procs.js";

/** What the host reports. Bytes, microseconds of CPU, ms since epoch. */
export interface HostStats {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /** Sandboxes the node hosts right now. */
  hosted: number;
  at: number;
  /** After a `profile: "stop"` request: the .cpuprofile written. */
  profile?: string;
  /** After a `heapSnapshotDir` request: the .heapsnapshot written. */
  heapSnapshot?: string;
}

/** A stats request. */
export interface StatsRequest {
  /** Full GC first (memory figures without garbage). */
  gc?: boolean;
  /** Start or stop the V8 CPU profiler of the host (a window of the run, e.g. idle). */
  profile?: "start" | "stop";
  /** Where a stopped profile is written. */
  profileDir?: string;
  /** Write a heap snapshot into this directory (slow: seconds at 10,000 sandboxes). */
  heapSnapshotDir?: string;
}

/** Options the suite passes to the host (argv[2], JSON). */
export interface HostOptions {
  natsUrl: string;
  /** The node's sandbox slots. */
  sandboxes: number;
}

const statsSubject = (nodeId: string) => `bench.host.${nodeId}.stats`;
const READY = "density-host ready ";

/** The host process: starts the node, serves stats, destroys the node (and its sandboxes) on SIGTERM. */
export async function hostMain(argv: string[]): Promise<void> {
  const opts = JSON.parse(argv[0] ?? "{}") as HostOptions;
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("density host needs --expose-gc");
  // cpu and memory are counted per sandbox; this suite measures the node, not admission, so they never run short.
  const node = await startNode({ natsUrl: opts.natsUrl, driver: "process", prefix: "density", capacity: { sandboxes: opts.sandboxes, cpu: 1e9, memoryMB: 1e12 } });
  const session = new Session();
  session.connect();
  const answer = async (req: StatsRequest): Promise<HostStats> => {
    let profile: string | undefined;
    if (req.profile === "start") {
      await session.post("Profiler.enable");
      await session.post("Profiler.start");
    } else if (req.profile === "stop") {
      const { profile: data } = await session.post("Profiler.stop");
      fs.mkdirSync(req.profileDir ?? ".", { recursive: true });
      profile = path.resolve(req.profileDir ?? ".", `density-${node.nodeId}-${Date.now()}.cpuprofile`);
      fs.writeFileSync(profile, JSON.stringify(data));
    }
    if (req.gc) {
      gc();
      gc(); // a second pass collects what the first one's finalizers released
    }
    // Measured before a snapshot, whose own buffers would inflate RSS.
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    let heapSnapshot: string | undefined;
    if (req.heapSnapshotDir) {
      fs.mkdirSync(req.heapSnapshotDir, { recursive: true });
      heapSnapshot = v8.writeHeapSnapshot(path.resolve(req.heapSnapshotDir, `density-${node.nodeId}-${Date.now()}.heapsnapshot`));
    }
    return { ...m, cpuUserUs: cpu.user, cpuSystemUs: cpu.system, hosted: node.node.hosted, at: Date.now(), ...(profile ? { profile } : {}), ...(heapSnapshot ? { heapSnapshot } : {}) };
  };
  node.nc.subscribe(statsSubject(node.nodeId), {
    callback: (_err, msg) => {
      const req = msg.data.length > 0 ? decodeJson<StatsRequest>(msg.data) : {};
      void answer(req).then(
        (stats) => msg.respond(encodeJson(stats)),
        (err: unknown) => msg.respond(encodeJson({ error: String(err) })),
      );
    },
  });
  await node.nc.flush();
  process.stdout.write(`${READY}${node.nodeId}\n`);
  await new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
  await node.destroy();
}

/** A running host, seen from the suite. */
export interface DensityHost {
  nodeId: NodeId;
  child: ChildProcess;
  /** The host's stats (after what the request asks for). */
  stats(req?: StatsRequest): Promise<HostStats>;
  /** SIGTERM: the node stops and removes every sandbox it left; resolves on exit. */
  stop(): Promise<void>;
}

/** Spawns the host and resolves once its node takes commands. */
export async function spawnDensityHost(benchDir: string, nc: NatsConnection, opts: HostOptions): Promise<DensityHost> {
  const args = childArgs(benchDir, "bench/lib/density-host.ts", "hostMain", [JSON.stringify(opts)], ["--expose-gc"]);
  const { child, value: nodeId } = await spawnReady("density host", process.execPath, args, {
    ready: (line) => (line.startsWith(READY) ? (line.slice(READY.length).trim() as NodeId) : undefined),
    stderr: "inherit",
    // No whole-run profiler here: the suite profiles the idle window through the stats protocol instead.
    env: { ...process.env, CORRAL_LOG_LEVEL: process.env.CORRAL_LOG_LEVEL ?? "warn" },
    timeoutMs: 120_000,
  });
  return {
    nodeId,
    child,
    async stats(req = {}) {
      const msg = await nc.request(statsSubject(nodeId), encodeJson(req), { timeout: 30_000 });
      const reply = decodeJson<HostStats & { error?: string }>(msg.data);
      if (reply.error) throw new Error(`density host: ${reply.error}`);
      return reply;
    },
    // A node with thousands of sandboxes takes a while to remove them: no SIGKILL after the usual grace.
    stop: () => stopChild(child, 600_000),
  };
}
