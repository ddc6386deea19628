/**
 * `corral node --nats-url URL[,URL...] --node-id ID [--driver docker|process] [--cpu N]
 * [--memory-mb N] [--max-sandboxes N] [--pause-mode freeze|stop] [--data-dir DIR]
 * [--replicas N] [--warm TEMPLATE=N]...`: runs one node actor (which also serves the `corral` API)
 * until SIGINT or SIGTERM, then stops gracefully (sandboxes keep running and
 * are re-adopted by the next start with the same node id).
 *
 * Started before its NATS, or before JetStream can take the buckets (no meta
 * leader yet, fewer servers than `--replicas`), it waits with backoff and a
 * log line per attempt. Once the buckets are open (created, or raised to
 * `--replicas`) the node actor starts.
 *
 * Capacity defaults: memory is the machine's RAM (a reservation: the driver
 * enforces each sandbox's limit); cpu is 8x the cores, because a sandbox's
 * cpu is a cap (cgroup quota), not a reservation, and agent sandboxes idle
 * most of the time; sandbox slots 1000 (docker) or 10000 (process).
 */
import os from "node:os";
import path from "node:path";
import { parse, NATS_AUTH_OPTIONS, natsAuthOf } from "../../src/cli/args.js";
import { nextStopSignal } from "../../src/cli/stop-signal.js";
import { replicasValue, resolveConfig } from "../../src/config.js";
import { createDriver } from "../../src/drivers/create.js";
import { defaultDriverKind } from "../../src/drivers/detect.js";
import type { DriverKind, PauseMode } from "../../src/drivers/types.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { isNodeId, type NodeId } from "../../src/ids.js";
import { TemplateRegistry } from "../../src/templates.js";
import { logger } from "../../src/log.js";
import { connectNats, describeServers, natsConnectOptions } from "../../src/nats/connection.js";
import { untilAvailable } from "../../src/nats/wait.js";
import { EventRepublisher, NodeRegistry, SandboxStore } from "../../src/store/index.js";
import type { Amounts } from "./capacity.js";
import { withCrashPoint } from "./crash-points.js";
import { NodeActor } from "./node-actor.js";
import { parseWarmSpec } from "./warm/warm-spec.js";

/** cpu capacity per core by default (see the module comment). */
export const DEFAULT_CPU_OVERCOMMIT = 8;

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new InvalidArgumentError(`${flag}: expected ${allowed.join(" or ")}, got ${JSON.stringify(value)}`);
  return value as T;
}

function positive(flag: string, value: string | undefined, integer: boolean): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new InvalidArgumentError(`${flag}: expected a positive ${integer ? "integer" : "number"}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** `--replicas`: 1..5 (invalid_argument naming the value). */
function replicasOption(value: string): number {
  try {
    return replicasValue("--replicas", value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** The node's capacity from the flags, with the defaults of the module comment. */
export function capacityFrom(values: { cpu?: string; "memory-mb"?: string; "max-sandboxes"?: string }, driver: DriverKind): Amounts {
  return {
    cpu: positive("--cpu", values.cpu, false) ?? os.cpus().length * DEFAULT_CPU_OVERCOMMIT,
    memoryMB: positive("--memory-mb", values["memory-mb"], true) ?? Math.floor(os.totalmem() / 2 ** 20),
    sandboxes: positive("--max-sandboxes", values["max-sandboxes"], true) ?? (driver === "docker" ? 1_000 : 10_000),
  };
}

/** The `corral node` command; resolves with the exit code once the node has stopped. */
export async function runNodeCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)" },
      ...NATS_AUTH_OPTIONS,
      "node-id": { type: "string", value: "ID", required: true, help: "this node's name, 1-64 of [A-Za-z0-9_-]; a restart with the same id re-adopts its sandboxes" },
      driver: { type: "string", value: "docker|process", help: "container engine (default docker when an engine answers, else process)" },
      cpu: { type: "string", value: "N", help: `cpu capacity (default ${DEFAULT_CPU_OVERCOMMIT} per core)` },
      "memory-mb": { type: "string", value: "N", help: "memory capacity in MiB (default the machine's RAM)" },
      "max-sandboxes": { type: "string", value: "N", help: "sandbox slots (default 1000 docker, 10000 process)" },
      "pause-mode": { type: "string", value: "freeze|stop", help: "how sandboxes pause (default freeze)" },
      "data-dir": { type: "string", value: "DIR", help: "process driver state (default .corral/node-<id>)" },
      replicas: { type: "string", value: "N", help: "replicas of the JetStream buckets, 1-5 (default $CORRAL_REPLICAS, then 1)" },
      warm: { type: "string", multiple: true, value: "TEMPLATE=N", help: "keep N started-and-frozen sandboxes of TEMPLATE ready, docker driver only (default $CORRAL_WARM, comma-separated)" },
    },
    { command: "node", summary: "Runs a node actor (and the API service) until SIGINT/SIGTERM; sandboxes outlive it." },
  );
  if (positionals.length > 0) throw new InvalidArgumentError(`corral node takes no arguments, got ${positionals.join(" ")}`);
  const nodeIdValue = values["node-id"];
  if (!nodeIdValue) throw new InvalidArgumentError("--node-id is required (1-64 of [A-Za-z0-9_-])");
  if (!isNodeId(nodeIdValue)) throw new InvalidArgumentError(`--node-id: expected 1-64 of [A-Za-z0-9_-], got ${JSON.stringify(nodeIdValue)}`);
  const nodeId: NodeId = nodeIdValue;
  const driverKind = oneOf<DriverKind>("--driver", values.driver, ["docker", "process"]) ?? (await defaultDriverKind());
  const pauseMode = oneOf<PauseMode>("--pause-mode", values["pause-mode"], ["freeze", "stop"]) ?? "freeze";
  const capacity = capacityFrom(values, driverKind);
  const templates = TemplateRegistry.fromEnv();
  const warm = parseWarmSpec(values.warm, process.env.CORRAL_WARM, templates);
  if (warm.size > 0 && driverKind !== "docker") throw new InvalidArgumentError(`--warm needs the docker driver (this node runs the ${driverKind} driver)`);
  const replicas = values.replicas === undefined ? undefined : replicasOption(values.replicas);
  let config;
  try {
    config = resolveConfig(replicas === undefined ? {} : { replicas });
  } catch (err) {
    // A bad CORRAL_* value is the caller's to fix: invalid_argument, naming it.
    throw new InvalidArgumentError((err as Error).message, { cause: err });
  }
  const nats = { natsUrl: values["nats-url"], name: `corral-node-${nodeId}`, auth: natsAuthOf(values) };
  const servers = describeServers(natsConnectOptions(nats).servers);
  const dataDir = path.resolve(values["data-dir"] ?? path.join(".corral", `node-${nodeId}`));
  const log = logger("node", { nodeId });

  // Async traces stay off: a stack capture per request costs a busy node CPU.
  const nc = await connectNats(nats, { wait: true, log });
  // Creates the buckets and stream, or raises their replicas, before the node
  // actor opens them: a cluster still electing leaders is waited for here.
  await untilAvailable("open buckets", async () => void (await Promise.all([SandboxStore.open(nc, config), NodeRegistry.open(nc, config)])), log);
  // Before the node actor writes anything: the catch-up re-publishes the
  // events a crashed predecessor lost, judged by each sandbox's last event.
  const republisher = await untilAvailable("start the event re-publisher", () => EventRepublisher.start(nc, config), log);
  // CORRAL_CRASH_AT arms a crash point for the crash tests only (./crash-points.ts).
  const driver = withCrashPoint(createDriver(driverKind, { dataDir }), process.env.CORRAL_CRASH_AT);
  const node = await NodeActor.start({ nc, nodeId, driver, config, capacity, pauseMode, templates, warm, warmDir: path.join(dataDir, "warm"), address: os.hostname() });
  const warmText = warm.size > 0 ? `, warm ${[...warm].map(([t, n]) => `${t}=${n}`).join(",")}` : "";
  process.stdout.write(`corral node ${nodeId}: cluster ${node.clusterId}, ${driverKind} driver, capacity ${capacity.cpu} cpu / ${capacity.memoryMB} MiB / ${capacity.sandboxes} sandboxes, NATS ${servers}, ${config.replicas} replica(s)${warmText}\n`);

  const signal = await nextStopSignal();
  log.info({ signal }, "stopping");
  await node.stop();
  republisher.stop();
  await nc.drain().catch(() => undefined);
  return 0;
}
