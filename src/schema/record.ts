/**
 * The sandbox record: one zod schema that is both the TypeScript type and the
 * validator. `SandboxRecord` is the contract's client-facing JSON shape;
 * `StoredSandbox` is what the KV holds and events carry (the record plus
 * `internal`, which clients never see).
 */
import { z } from "zod";
import { NODE_ID_PATTERN, SANDBOX_ID_PATTERN, type NodeId, type SandboxId } from "../ids.js";

export const SANDBOX_STATES = ["starting", "running", "pausing", "paused", "resuming", "killing", "killed"] as const;
export const SandboxStateSchema = z.enum(SANDBOX_STATES);
export type SandboxState = z.infer<typeof SandboxStateSchema>;

/** Why a sandbox was killed. Clients cannot choose one: `request` is what the API records. */
export const KILL_REASONS = ["request", "timeout", "container_exited", "orphaned", "node_lost", "start_failed"] as const;
export const KillReasonSchema = z.enum(KILL_REASONS);
export type KillReason = z.infer<typeof KillReasonSchema>;

export const SandboxIdSchema = z
  .string()
  .regex(SANDBOX_ID_PATTERN, "must be 20 characters of [a-z0-9]")
  .transform((s) => s as SandboxId);
export const NodeIdSchema = z
  .string()
  .regex(NODE_ID_PATTERN, "must be 1-64 characters of [A-Za-z0-9_-]")
  .transform((s) => s as NodeId);

/** Milliseconds since the epoch (all times in a record). */
export const EpochMsSchema = z.number().int().nonnegative();
/** A tenant's name: what `--tenant`, credentials and the tenant API subjects carry. */
export const TENANT_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;
export const TenantSchema = z.string().regex(TENANT_PATTERN, "must be 1-63 characters of [a-z0-9_-], starting with [a-z0-9]");
export const TemplateNameSchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, "must be 1-64 characters of [a-z0-9._-]");

export const LifecycleSchema = z.strictObject({
  /** What the deadline does: kill (default) or pause. */
  onTimeout: z.enum(["kill", "pause"]),
  /** Traffic through the proxy to a paused sandbox resumes it. */
  autoResume: z.boolean(),
  /** Traffic moves `endAt` to `lastActiveAt + timeoutMs` (CubeSandbox semantics). */
  idle: z.boolean(),
});
export type Lifecycle = z.infer<typeof LifecycleSchema>;

export const METADATA_MAX_ENTRIES = 64;
export const MetadataSchema = z
  .record(z.string().min(1).max(128), z.string().max(1024))
  .refine((m) => Object.keys(m).length <= METADATA_MAX_ENTRIES, `at most ${METADATA_MAX_ENTRIES} entries`);
export type Metadata = z.infer<typeof MetadataSchema>;

export const ResourcesSchema = z.strictObject({
  /** CPU cores (fractions allowed), enforced by the driver. */
  cpu: z.number().positive().max(256),
  /** Memory limit in MiB, enforced by the driver. */
  memoryMB: z.number().int().min(6).max(1_048_576),
});
export type Resources = z.infer<typeof ResourcesSchema>;

export const DriverErrorSchema = z.strictObject({
  /** The driver operation that failed: start, pause, resume, remove. */
  op: z.string(),
  message: z.string(),
  at: EpochMsSchema,
});
export type DriverErrorInfo = z.infer<typeof DriverErrorSchema>;

/** The client-facing record (DESIGN.md, "Sandbox record"): exactly these fields. */
export const SandboxRecordSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  template: TemplateNameSchema,
  state: SandboxStateSchema,
  nodeId: NodeIdSchema,
  /** KV revision of this record. */
  revision: z.number().int().nonnegative(),
  createdAt: EpochMsSchema,
  startedAt: EpochMsSchema.nullable(),
  /** Deadline; null when expiration is manual, while paused, and before start. */
  endAt: EpochMsSchema.nullable(),
  lastActiveAt: EpochMsSchema.nullable(),
  timeoutMs: z.number().int().nonnegative(),
  expiration: z.enum(["ttl", "manual"]),
  lifecycle: LifecycleSchema,
  metadata: MetadataSchema,
  resources: ResourcesSchema,
  killReason: KillReasonSchema.nullable(),
  error: DriverErrorSchema.nullable(),
  /**
   * The tenant whose credential created it; null for one created through the
   * admin API. Records written before tenants existed decode as null.
   */
  tenant: TenantSchema.nullable().default(null),
});
export type SandboxRecord = z.infer<typeof SandboxRecordSchema>;

/** Where the proxy reaches a sandbox's ports. */
export const EndpointSchema = z.strictObject({
  /** Address the proxy connects to (container bridge IP, or 127.0.0.1 for the process driver). */
  host: z.string(),
  /**
   * Sandbox port -> reachable port. Empty for the docker driver (every port is
   * reachable at `host:port`); the process driver maps its template port.
   */
  ports: z.record(z.string(), z.number().int().min(1).max(65535)),
});
export type Endpoint = z.infer<typeof EndpointSchema>;

/** Fields only Corral sees: never in a client reply, never logged (tokenHash). */
export const SandboxInternalSchema = z.strictObject({
  /** Driver handle: container id, or `pid:<pid>:<starttime>` for the process driver. */
  handle: z.string().nullable(),
  endpoint: EndpointSchema.nullable(),
  /** Proxy requires the traffic token. */
  secure: z.boolean(),
  /** sha256 hex of the traffic token; the token itself is never stored. */
  tokenHash: z.string().nullable(),
  /** Idempotency key the id was derived from. */
  key: z.string().nullable(),
  /** Counts re-creations under one id (a key reused after a kill); starts at 1. */
  incarnation: z.number().int().positive(),
  /** When the sandbox entered `killed` (tombstone expiry counts from here). */
  killedAt: EpochMsSchema.nullable(),
  /** Consecutive failed attempts of the current driver operation (backoff input). */
  attempts: z.number().int().nonnegative(),
});
export type SandboxInternal = z.infer<typeof SandboxInternalSchema>;

/** What the KV holds and every event carries. */
export const StoredSandboxSchema = SandboxRecordSchema.extend({ internal: SandboxInternalSchema });
export type StoredSandbox = z.infer<typeof StoredSandboxSchema>;

/** The client-facing view of a stored record (drops `internal`). */
export function toPublicRecord(stored: StoredSandbox): SandboxRecord {
  const { internal: _internal, ...record } = stored;
  return record;
}

/** States from which a sandbox can still change; `killed` is final. */
export const LIVE_STATES: readonly SandboxState[] = ["starting", "running", "pausing", "paused", "resuming", "killing"];
/** States in which mutating operations other than kill answer `gone`. */
export const GONE_STATES: readonly SandboxState[] = ["killing", "killed"];
/** Transient states: a driver operation is under way. */
export const TRANSIENT_STATES: readonly SandboxState[] = ["starting", "pausing", "resuming", "killing"];
