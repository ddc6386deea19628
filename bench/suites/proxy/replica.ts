/**
 * Corral's side of the proxy suite: `corral proxy` replicas in their own
 * processes, and sandbox records written the way a node writes them (for a
 * sandbox no node hosts: the throughput upstream is nginx).
 */
import fs from "node:fs";
import { newStartingRecord } from "../../../actors/node/create.js";
import { resolveConfig } from "../../../src/config.js";
import { newSandboxId, type NodeId } from "../../../src/ids.js";
import type { CreateSpec } from "../../../src/node-protocol.js";
import type { Endpoint } from "../../../src/schema/record.js";
import { SandboxStore } from "../../../src/store/sandbox-store.js";
import { hashTrafficToken, newTrafficToken } from "../../../src/traffic-token.js";
import { CORRAL_BIN } from "../../../test/helpers/node.js";
import { spawnReady, stopChild } from "../../lib/procs.js";
import type { SuiteContext } from "../../lib/types.js";

/**
 * Starts a `corral proxy` replica (`--json` prints its port) and resolves
 * with its port. Its stderr (pino logs, the access log among them) goes to
 * `logFile`, as a deployment sends it to a file or a collector. Stopped by
 * the suite's cleanup.
 */
export async function startReplica(ctx: Pick<SuiteContext, "nats" | "cleanup">, logFile: string, workers = 1): Promise<number> {
  const args = [CORRAL_BIN, "proxy", "--nats-url", ctx.nats.url, "--port", "0", "--host", "127.0.0.1", "--workers", String(workers), "--json"];
  const log = fs.openSync(logFile, "a");
  try {
    const { child, value } = await spawnReady("corral proxy", process.execPath, args, {
      ready: (line) => (line.startsWith("{") ? (JSON.parse(line) as { port: number }).port : undefined),
      stderr: log,
      timeoutMs: 60_000,
    });
    ctx.cleanup(() => stopChild(child));
    return value;
  } finally {
    fs.closeSync(log);
  }
}

const SPEC: CreateSpec = {
  template: "base",
  timeoutMs: 3_600_000,
  expiration: "ttl",
  lifecycle: { onTimeout: "kill", autoResume: false, idle: false },
  metadata: { bench: "proxy" },
  tenant: null,
  env: {},
  resources: { cpu: 1, memoryMB: 128 },
  secure: true,
  key: null,
};

/** Writes a `running`, `secure` sandbox record whose endpoint is `endpoint` (event included); resolves with its id and traffic token. */
export async function seedSandbox(ctx: Pick<SuiteContext, "nats">, endpoint: Endpoint): Promise<{ id: string; token: string }> {
  const store = await SandboxStore.open(await ctx.nats.connect(), resolveConfig());
  const id = newSandboxId();
  const token = newTrafficToken();
  const now = Date.now();
  const starting = newStartingRecord({ nodeId: "bench-node" as NodeId }, id, SPEC, hashTrafficToken(token), now);
  const record = { ...starting, state: "running" as const, startedAt: now, endAt: now + SPEC.timeoutMs, lastActiveAt: now, internal: { ...starting.internal, endpoint } };
  await store.createIfAbsent(record, "create");
  return { id, token };
}
