/**
 * Server configuration, in three stages (as temporalio's SDK does it):
 * `CorralOptions` (all optional, documented defaults) -> `resolveConfig`
 * applies defaults and the environment -> `CorralConfig` (complete, validated).
 * This is the only module that reads `process.env` for server settings.
 * Invalid values fail at start-up with the variable's name and why.
 */

export interface CorralOptions {
  /** Default `timeoutMs` of a create. @default 300000 (env CORRAL_DEFAULT_TIMEOUT_MS) */
  defaultTimeoutMs?: number;
  /** Largest accepted `timeoutMs`. @default 86400000 (env CORRAL_MAX_TIMEOUT_MS) */
  maxTimeoutMs?: number;
  /** Hard ceiling on any deadline, from `startedAt`. @default 86400000 (env CORRAL_MAX_LIFETIME_MS) */
  maxLifetimeMs?: number;
  /** How long a killed record stays as a tombstone. @default 3600000 (env CORRAL_TOMBSTONE_MS) */
  tombstoneMs?: number;
  /** At most one activity write per sandbox per this. @default 5000 (env CORRAL_ACTIVITY_FLUSH_MS) */
  activityFlushMs?: number;
  /** Node lease: max-age of the `corral_nodes` bucket. @default 15000 (env CORRAL_NODE_LEASE_MS) */
  nodeLeaseMs?: number;
  /** Node heartbeat period; must be well inside the lease. @default 3000 (env CORRAL_HEARTBEAT_MS) */
  heartbeatMs?: number;
  /** How long the proxy waits for a transient state to settle. @default 30000 (env CORRAL_PROXY_WAIT_MS) */
  proxyWaitMs?: number;
  /** How long the API waits for a node's reply. @default 60000 (env CORRAL_NODE_REQUEST_TIMEOUT_MS) */
  nodeRequestTimeoutMs?: number;
  /** Max age of the CORRAL_EVENTS stream. @default 86400000 (env CORRAL_EVENTS_MAX_AGE_MS) */
  eventsMaxAgeMs?: number;
  /** Max size of the CORRAL_EVENTS stream in bytes. @default 268435456 (env CORRAL_EVENTS_MAX_BYTES) */
  eventsMaxBytes?: number;
  /**
   * How long a node's lease must have been expired before live nodes mark its
   * sandboxes `killed` / `node_lost`. A node that restarts within this window
   * re-adopts its sandboxes. @default 60000 (env CORRAL_NODE_LOST_GRACE_MS)
   */
  nodeLostGraceMs?: number;
  /**
   * Replicas of `corral_sandboxes`, `corral_nodes` and `CORRAL_EVENTS`
   * (1..5; at most the number of NATS servers). A node that finds them with
   * fewer raises them in place; none is ever lowered. @default 1 (env CORRAL_REPLICAS)
   */
  replicas?: number;
}

export type CorralConfig = Required<CorralOptions>;

export const DEFAULTS: CorralConfig = {
  defaultTimeoutMs: 300_000,
  maxTimeoutMs: 86_400_000,
  maxLifetimeMs: 86_400_000,
  tombstoneMs: 3_600_000,
  activityFlushMs: 5_000,
  nodeLeaseMs: 15_000,
  heartbeatMs: 3_000,
  proxyWaitMs: 30_000,
  nodeRequestTimeoutMs: 60_000,
  eventsMaxAgeMs: 86_400_000,
  eventsMaxBytes: 268_435_456,
  nodeLostGraceMs: 60_000,
  replicas: 1,
};

const ENV_NAMES: Record<keyof CorralConfig, string> = {
  defaultTimeoutMs: "CORRAL_DEFAULT_TIMEOUT_MS",
  maxTimeoutMs: "CORRAL_MAX_TIMEOUT_MS",
  maxLifetimeMs: "CORRAL_MAX_LIFETIME_MS",
  tombstoneMs: "CORRAL_TOMBSTONE_MS",
  activityFlushMs: "CORRAL_ACTIVITY_FLUSH_MS",
  nodeLeaseMs: "CORRAL_NODE_LEASE_MS",
  heartbeatMs: "CORRAL_HEARTBEAT_MS",
  proxyWaitMs: "CORRAL_PROXY_WAIT_MS",
  nodeRequestTimeoutMs: "CORRAL_NODE_REQUEST_TIMEOUT_MS",
  eventsMaxAgeMs: "CORRAL_EVENTS_MAX_AGE_MS",
  eventsMaxBytes: "CORRAL_EVENTS_MAX_BYTES",
  nodeLostGraceMs: "CORRAL_NODE_LOST_GRACE_MS",
  replicas: "CORRAL_REPLICAS",
};

/** JetStream's bound on a stream's replicas. */
export const MAX_REPLICAS = 5;

/** Thrown at start-up for a bad setting; names the setting and why. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

function positiveInt(name: string, value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) {
    throw new ConfigError(`${name} must be a positive integer of milliseconds/bytes, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** A replica count: an integer 1..{@link MAX_REPLICAS}. */
export function replicasValue(name: string, value: unknown): number {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > MAX_REPLICAS) {
    throw new ConfigError(`${name} must be an integer from 1 to ${MAX_REPLICAS}, got ${JSON.stringify(value)}`);
  }
  return n;
}

/** Options win over the environment, the environment over defaults. */
export function resolveConfig(options: CorralOptions = {}, env: NodeJS.ProcessEnv = process.env): CorralConfig {
  const out = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof CorralConfig)[]) {
    const fromOptions = options[key];
    const fromEnv = env[ENV_NAMES[key]];
    const check = key === "replicas" ? replicasValue : positiveInt;
    if (fromOptions !== undefined) out[key] = check(key, fromOptions);
    else if (fromEnv !== undefined) out[key] = check(ENV_NAMES[key], fromEnv);
  }
  if (out.defaultTimeoutMs > out.maxTimeoutMs) {
    throw new ConfigError(`defaultTimeoutMs (${out.defaultTimeoutMs}) must not exceed maxTimeoutMs (${out.maxTimeoutMs})`);
  }
  if (out.heartbeatMs * 3 > out.nodeLeaseMs) {
    throw new ConfigError(`heartbeatMs (${out.heartbeatMs}) must be at most a third of nodeLeaseMs (${out.nodeLeaseMs})`);
  }
  return out;
}

/**
 * Default NATS URL (one, or a comma-separated list) of every command:
 * `$CORRAL_NATS_URL`, then `nats://127.0.0.1:4222`. `src/nats/connection.ts`
 * parses it.
 */
export function defaultNatsUrl(env: NodeJS.ProcessEnv = process.env): string {
  return env.CORRAL_NATS_URL || "nats://127.0.0.1:4222";
}
