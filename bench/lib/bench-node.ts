/**
 * A real `corral node` process for the node and api suites (spawnNode from
 * test/helpers/node.ts: the command exactly as deployed, in its own process).
 * Its sandboxes and data dir are removed by the suite's cleanup.
 *
 * Profiling: with env `CORRAL_BENCH_CPU_PROF=<dir>`, the node runs under the
 * V8 CPU profiler (cpu-prof-preload.mjs) and writes <dir>/corral.js-<pid>.cpuprofile
 * when it stops (open it in Chrome DevTools or speedscope). The runner itself
 * is profiled with `node --cpu-prof bench/run.mjs ...`.
 */
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { DriverKind } from "../../src/drivers/types.js";
import type { NodeId } from "../../src/ids.js";
import { requestNode, type SandboxNodeCommand } from "../../src/node-protocol.js";
import { removeContainersOf, requireDocker, testNodeId } from "../../test/helpers/docker.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode, type TestNodeOptions } from "../../test/helpers/node.js";
import type { SuiteContext } from "./types.js";

/** Extra environment that makes a child node write a CPU profile, when asked for. */
export function profileEnv(benchDir: string): NodeJS.ProcessEnv {
  const dir = process.env.CORRAL_BENCH_CPU_PROF;
  if (!dir) return {};
  const preload = pathToFileURL(path.join(benchDir, "lib", "cpu-prof-preload.mjs")).href;
  return { CORRAL_BENCH_CPU_PROF: path.resolve(dir), NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --import=${preload}`.trim() };
}

/**
 * Room for every sandbox a suite makes (1 cpu / 512 MiB each by default): the
 * suites measure latency and throughput, not admission.
 */
const BENCH_CAPACITY = { cpu: 100_000, memoryMB: 100_000_000, sandboxes: 100_000 };

/** Spawns a node on the run's nats-server; it stops (SIGTERM) and its sandboxes go at the suite's end. */
export async function startBenchNode(
  ctx: Pick<SuiteContext, "nats" | "cleanup" | "benchDir">,
  driver: DriverKind,
  opts: Omit<TestNodeOptions, "natsUrl" | "driver"> = {},
): Promise<SpawnedNode> {
  const node = await spawnNode({ prefix: "bench", capacity: BENCH_CAPACITY, ...opts, natsUrl: ctx.nats.url, driver, env: profileEnv(ctx.benchDir) });
  ctx.cleanup(async () => {
    await node.stop();
    await removeSandboxesOf(driver, node.nodeId, node.dataDir);
    fs.rmSync(node.dataDir, { recursive: true, force: true });
  });
  return node;
}

/** How long a bench's command to its node may take. */
const REQUEST_TIMEOUT_MS = 60_000;

/**
 * The Docker suites' common setup: the engine, a label for the suite's raw
 * containers (removed at its end), a docker node, and a sender of commands
 * straight to the node's command subject.
 */
export async function startDockerBench(ctx: Pick<SuiteContext, "nats" | "cleanup" | "benchDir">, opts: Omit<TestNodeOptions, "natsUrl" | "driver"> = {}) {
  const docker = await requireDocker();
  // The raw containers carry their own label: the node's reconciliation would remove containers labelled with its id.
  const rawLabel = testNodeId("bench-raw");
  ctx.cleanup(() => removeContainersOf(docker, rawLabel).then(() => undefined));
  const node = await startBenchNode(ctx, "docker", opts);
  const nc = await ctx.nats.connect();
  ctx.cleanup(() => nc.close());
  const command = (c: SandboxNodeCommand) => requestNode(nc, node.nodeId as NodeId, c, REQUEST_TIMEOUT_MS);
  return { docker, rawLabel, node, nc, command };
}
