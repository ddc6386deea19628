/**
 * Real node actors for integration tests: in this process (`startNode`) or as
 * a `corral node` child process (`spawnNode`, for crash tests and clusters).
 * Both use a real nats-server (test/helpers/nats.ts) and a real driver; each
 * node gets a unique id and data dir, and `destroy()` removes every sandbox
 * the node left (containers by label, process groups by adoption file), then
 * the data dir, printing what it removed.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { NodeActor } from "../../actors/node/node-actor.js";
import { parseWarmSpec } from "../../actors/node/warm/warm-spec.js";
import type { Amounts } from "../../actors/node/capacity.js";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig, type CorralConfig, type CorralOptions } from "../../src/config.js";
import { createDriver } from "../../src/drivers/create.js";
import type { DriverKind, PauseMode, SandboxDriver } from "../../src/drivers/types.js";
import { newSandboxId, type NodeId } from "../../src/ids.js";
import { NodeUnreachableError, requestNode } from "../../src/node-protocol.js";
import { TemplateRegistry, type Template } from "../../src/templates.js";
import { testNodeId } from "./docker.js";
import { waitUntil } from "./wait.js";

/** Options of {@link startNode} and {@link spawnNode}. */
export interface TestNodeOptions {
  natsUrl: string;
  /** @default a fresh `testNodeId(prefix)` */
  nodeId?: NodeId;
  /** Prefix of the generated node id. @default "node" */
  prefix?: string;
  /** @default "docker" */
  driver?: DriverKind;
  /** @default cpu 64, memoryMB 65536, sandboxes 10000 */
  capacity?: Partial<Amounts>;
  /** Server settings (timers, lease) for this node. */
  config?: CorralOptions;
  /** @default "freeze" */
  pauseMode?: PauseMode;
  /** Extra templates (in-process only). */
  templates?: Template[];
  /** Wraps the real driver (fault injection, in-process only). */
  wrapDriver?: (driver: SandboxDriver) => SandboxDriver;
  /** Reuse a data dir (a restart of the same node). @default a fresh temp dir */
  dataDir?: string;
  /** `--warm` pairs (`base=2`): the node's warm pool. @default none */
  warm?: string[];
}

const DEFAULT_CAPACITY: Amounts = { cpu: 64, memoryMB: 65_536, sandboxes: 10_000 };

/** A node actor running in this process. */
export interface TestNode {
  nodeId: NodeId;
  node: NodeActor;
  config: CorralConfig;
  dataDir: string;
  /** The node's own connection. */
  nc: NatsConnection;
  /** A client on its own connection. */
  client: CorralClient;
  /** Graceful stop (sandboxes keep running); the node can be started again on `dataDir`. */
  stop(): Promise<void>;
  /** Stops it, removes every sandbox it left and its data dir. Safe to call twice. */
  destroy(): Promise<void>;
}

function freshDataDir(nodeId: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `corral-${nodeId}-`));
}

/** Removes every sandbox of `nodeId` the driver can find; returns how many. */
export async function removeSandboxesOf(kind: DriverKind, nodeId: NodeId, dataDir: string): Promise<number> {
  const driver = createDriver(kind, { dataDir });
  try {
    const left = await driver.list(nodeId);
    await Promise.allSettled(left.map((i) => driver.remove(i.handle)));
    if (left.length > 0) console.info(`removed ${left.length} sandbox(es) of ${nodeId}: ${left.map((i) => i.sandboxId).join(", ")}`);
    return left.length;
  } finally {
    await driver.close();
  }
}

/** Starts a node actor in this process (it serves the API too). */
export async function startNode(opts: TestNodeOptions): Promise<TestNode> {
  const nodeId = opts.nodeId ?? testNodeId(opts.prefix ?? "node");
  const kind = opts.driver ?? "docker";
  const dataDir = opts.dataDir ?? freshDataDir(nodeId);
  const config = resolveConfig(opts.config ?? {}, {});
  const nc = await connect({ servers: opts.natsUrl.split(","), name: nodeId, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  const real = createDriver(kind, { dataDir });
  const templates = new TemplateRegistry(opts.templates ?? []);
  const node = await NodeActor.start({
    nc,
    nodeId,
    driver: opts.wrapDriver ? opts.wrapDriver(real) : real,
    config,
    capacity: { ...DEFAULT_CAPACITY, ...opts.capacity },
    pauseMode: opts.pauseMode ?? "freeze",
    templates,
    warm: parseWarmSpec(opts.warm, undefined, templates),
  });
  const client = await CorralClient.connect({ natsUrl: opts.natsUrl, timeoutMs: 60_000 });
  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      await client.close();
      await node.stop();
      await nc.close();
    })());
  let destroyed: Promise<void> | null = null;
  return {
    nodeId,
    node,
    config,
    dataDir,
    nc,
    client,
    stop,
    destroy: () =>
      (destroyed ??= (async () => {
        await stop();
        await removeSandboxesOf(kind, nodeId, dataDir);
        if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
      })()),
  };
}

/** A `corral node` child process. */
export interface SpawnedNode {
  nodeId: NodeId;
  dataDir: string;
  child: ChildProcess;
  /** Everything it wrote (stdout and stderr). */
  output(): string;
  /** SIGKILL: a crash (nothing is flushed or released). */
  crash(): Promise<void>;
  /** SIGTERM: a graceful stop. */
  stop(): Promise<void>;
  /** Stops it, removes every sandbox it left and its data dir (unless `dataDir` was given). Safe to call twice. */
  destroy(): Promise<void>;
}

/** The built executable (the integration project's global setup builds it). */
export const CORRAL_BIN = path.resolve(import.meta.dirname, "../../dist/actors/corral.js");

/** Spawns `corral node` and resolves once its lease is in the registry (it takes commands then). */
export async function spawnNode(opts: TestNodeOptions & { env?: NodeJS.ProcessEnv }): Promise<SpawnedNode> {
  const nodeId = opts.nodeId ?? testNodeId(opts.prefix ?? "node");
  const dataDir = opts.dataDir ?? freshDataDir(nodeId);
  const capacity = { ...DEFAULT_CAPACITY, ...opts.capacity };
  const args = [CORRAL_BIN, "node", "--nats-url", opts.natsUrl, "--node-id", nodeId, "--driver", opts.driver ?? "docker", "--data-dir", dataDir];
  args.push("--cpu", String(capacity.cpu), "--memory-mb", String(capacity.memoryMB), "--max-sandboxes", String(capacity.sandboxes));
  if (opts.pauseMode) args.push("--pause-mode", opts.pauseMode);
  for (const pair of opts.warm ?? []) args.push("--warm", pair);
  const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOG_LEVEL: process.env.CORRAL_LOG_LEVEL ?? "warn", ...opts.env };
  delete env.VITEST; // the child is a real server: its logger must not be silenced as a test's is
  for (const [key, value] of Object.entries(opts.config ?? {})) env[`CORRAL_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`] = String(value);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"], env });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = waitUntil(() => output.includes(`corral node ${nodeId}:`), { timeoutMs: 60_000, what: `node ${nodeId} to start` });
  await Promise.race([ready, exited.then(() => Promise.reject(new Error(`corral node ${nodeId} exited before it was ready:\n${output}`)))]);
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  const crash = async () => {
    await signal("SIGKILL");
    await untilUnroutable(opts.natsUrl, nodeId);
  };
  let destroyed: Promise<void> | null = null;
  const destroy = () =>
    (destroyed ??= (async () => {
      await signal("SIGTERM");
      await removeSandboxesOf(opts.driver ?? "docker", nodeId, dataDir);
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    })());
  return { nodeId, dataDir, child, output: () => output, crash, stop: () => signal("SIGTERM"), destroy };
}

/**
 * Resolves once nats-server has dropped a killed node's subscriptions (its
 * command subject has no responders). Until the server has read the closed
 * socket, a request can still be routed to the dead node (its API queue
 * member too) and wait for the requester's timeout.
 */
async function untilUnroutable(natsUrl: string, nodeId: NodeId): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(",") });
  try {
    await waitUntil(
      async () => {
        const err = await requestNode(nc, nodeId, { op: "get", sandboxId: newSandboxId() }, 250).catch((e: unknown) => e);
        return err instanceof NodeUnreachableError && err.message.endsWith("is unreachable");
      },
      { timeoutMs: 10_000, what: `nats-server to drop node ${nodeId}` },
    );
  } finally {
    await nc.close();
  }
}
