/**
 * The node record held in `corral_nodes` (msgpack): who the node is, what it
 * can hold and what it holds now. Written by the node on every heartbeat.
 */
import { z } from "zod";
import { decodeMsgpack, encodeMsgpack } from "../codec.js";
import { InternalError } from "../errors.js";
import { EpochMsSchema, NodeIdSchema, SandboxStateSchema } from "../schema/record.js";

const AmountsSchema = z.strictObject({
  /** CPU cores (fractions allowed). */
  cpu: z.number().nonnegative(),
  memoryMB: z.number().nonnegative(),
  sandboxes: z.number().int().nonnegative(),
});

/** Validator of a node record (the `revision` field is the KV entry's, never trusted from the bytes). */
export const NodeRecordSchema = z.strictObject({
  nodeId: NodeIdSchema,
  /** Corral version the node runs. */
  version: z.string(),
  /** Where the node can be reached directly, if anywhere (informational). */
  address: z.string().nullable(),
  /** `host:port` of the node's envd endpoint (E2B compatibility), if it serves one. */
  envd: z.string().nullable().optional(),
  driver: z.enum(["docker", "process"]),
  pauseMode: z.enum(["freeze", "stop"]),
  startedAt: EpochMsSchema,
  /** When this record was written; the lease runs until `heartbeatAt + nodeLeaseMs`. */
  heartbeatAt: EpochMsSchema,
  /** What the node admits at most. */
  capacity: AmountsSchema,
  /** What its live sandboxes hold now. */
  allocation: AmountsSchema,
  /** Sandboxes per state. */
  counts: z.partialRecord(SandboxStateSchema, z.number().int().nonnegative()),
  /** Ready (frozen, unclaimed) warm-pool members per pooled template; absent when the node keeps no pool. Not in `counts`. */
  warm: z.record(z.string(), z.number().int().nonnegative()).optional(),
  /** Warm-pool members being started (their reservations are in `allocation`; a create may evict them); absent when none. */
  warmStarting: z.number().int().positive().optional(),
  /** Set by `corral drain`: the node admits no new sandbox (absent in records of older nodes). */
  drain: z.boolean().optional(),
  /** When the node was stopped on purpose (SIGTERM); its sandboxes are kept for the stop grace. */
  stoppingAt: EpochMsSchema.optional(),
  revision: z.number().int().nonnegative().optional(),
});

/** A node's registration and heartbeat (`revision` = KV entry revision when read). */
export type NodeRecord = z.infer<typeof NodeRecordSchema>;

/** Validates and encodes a node record; an invalid one is a bug in the node: `internal`. */
export function encodeNodeRecord(record: NodeRecord): Uint8Array {
  const parsed = NodeRecordSchema.safeParse(record);
  if (!parsed.success) throw new InternalError(`refusing to write an invalid node record: ${parsed.error.message}`);
  const { revision: _revision, ...value } = parsed.data;
  return encodeMsgpack(value);
}

/** Decodes and validates a node record, or returns why it is not one (never throws). */
export function decodeNodeRecord(bytes: Uint8Array, revision: number): { ok: true; record: NodeRecord } | { ok: false; reason: string } {
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch (err) {
    return { ok: false, reason: `not msgpack: ${(err as Error).message}` };
  }
  const parsed = NodeRecordSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: parsed.error.message };
  return { ok: true, record: { ...parsed.data, revision } };
}

/** A node's state as `corral nodes` shows it (DESIGN.md "Cluster", Drain). */
export type NodeState = "ready" | "draining" | "stopping" | "lost";

/**
 * The state of a node record at `now`: `stopping` for `stopGraceMs` after a
 * planned stop, `lost` once the lease (or that grace) has run out, else
 * `draining` or `ready`.
 */
export function nodeState(record: NodeRecord, now: number, leaseMs: number, stopGraceMs: number): NodeState {
  if (record.stoppingAt !== undefined) return now < record.stoppingAt + stopGraceMs ? "stopping" : "lost";
  if (record.heartbeatAt + leaseMs < now) return "lost";
  return record.drain ? "draining" : "ready";
}
