/**
 * `corral node --nats-url URL --node-id ID [--driver docker|process] [--cpu N]
 * [--memory-mb N] [--max-sandboxes N] [--pause-mode freeze|stop] [--data-dir DIR]`:
 * runs one node actor (which also serves the `corral` API) until SIGINT or
 * SIGTERM, then stops gracefully (sandboxes keep running and are re-adopted
 * by the next start with the same node id).
 *
 * Capacity defaults: memory is the machine's RAM (a reservation: the driver
 * enforces each sandbox's limit); cpu is 8x the cores, because a sandbox's
 * cpu is a cap (cgroup quota), not a reservation, and agent sandboxes idle
 * most of the time; sandbox slots 1000 (docker) or 10000 (process).
 */
import { connect } from "@nats-io/transport-node";
import os from "node:os";
import path from "node:path";
import { parse } from "../../src/cli/args.js";
import { nextStopSignal } from "../../src/cli/stop-signal.js";
import { defaultNatsUrl, resolveConfig } from "../../src/config.js";
import { createDriver } from "../../src/drivers/create.js";
import { defaultDriverKind } from "../../src/drivers/detect.js";
import type { DriverKind, PauseMode } from "../../src/drivers/types.js";
import { InvalidArgumentError, UnavailableError } from "../../src/errors.js";
import { isNodeId, type NodeId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import type { Amounts } from "./capacity.js";
import { NodeActor } from "./node-actor.js";

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
      "node-id": { type: "string", value: "ID", required: true, help: "this node's name, 1-64 of [A-Za-z0-9_-]; a restart with the same id re-adopts its sandboxes" },
      driver: { type: "string", value: "docker|process", help: "container engine (default docker when an engine answers, else process)" },
      cpu: { type: "string", value: "N", help: `cpu capacity (default ${DEFAULT_CPU_OVERCOMMIT} per core)` },
      "memory-mb": { type: "string", value: "N", help: "memory capacity in MiB (default the machine's RAM)" },
      "max-sandboxes": { type: "string", value: "N", help: "sandbox slots (default 1000 docker, 10000 process)" },
      "pause-mode": { type: "string", value: "freeze|stop", help: "how sandboxes pause (default freeze)" },
      "data-dir": { type: "string", value: "DIR", help: "process driver state (default .corral/node-<id>)" },
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
  const config = resolveConfig();
  const natsUrl = values["nats-url"] ?? defaultNatsUrl();
  const dataDir = path.resolve(values["data-dir"] ?? path.join(".corral", `node-${nodeId}`));
  const log = logger("node", { nodeId });

  let nc;
  try {
    // noAsyncTraces: no stack capture per request (about 6% of a busy node's CPU); errors keep their own stacks.
    nc = await connect({ servers: natsUrl, name: `corral-node-${nodeId}`, maxReconnectAttempts: -1, reconnectTimeWait: 250, noAsyncTraces: true });
  } catch (err) {
    throw new UnavailableError(`cannot connect to NATS at ${natsUrl}: ${(err as Error).message}`, { cause: err });
  }
  const node = await NodeActor.start({ nc, nodeId, driver: createDriver(driverKind, { dataDir }), config, capacity, pauseMode, address: os.hostname() });
  process.stdout.write(`corral node ${nodeId}: cluster ${node.clusterId}, ${driverKind} driver, capacity ${capacity.cpu} cpu / ${capacity.memoryMB} MiB / ${capacity.sandboxes} sandboxes, NATS ${natsUrl}\n`);

  const signal = await nextStopSignal();
  log.info({ signal }, "stopping");
  await node.stop();
  await nc.drain().catch(() => undefined);
  return 0;
}
