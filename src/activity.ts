/**
 * Activity batches (DESIGN.md, "Proxy"): each proxy replica tells the owning
 * node which of its sandboxes saw traffic, on `corral.v1.activity.<nodeId>`,
 * msgpack `{proxyId, at, items: [{sandboxId, lastActiveAt, requests}]}`.
 * A replica sends at most one batch per node per second and only names
 * sandboxes with traffic since its previous batch, so the node's cost is
 * O(active sandboxes), never O(all sandboxes).
 */
import { z } from "zod";
import { decodeMsgpack, encodeMsgpack } from "./codec.js";
import { InvalidArgumentError } from "./errors.js";
import { EpochMsSchema, SandboxIdSchema } from "./schema/record.js";

/** How often a replica sends a node's batch, at most. */
export const ACTIVITY_BATCH_INTERVAL_MS = 1_000;

/** One sandbox's traffic since the replica's previous batch. */
export const ActivityItemSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  /** ms since epoch of the last request (or of the batch, for an open WebSocket). */
  lastActiveAt: EpochMsSchema,
  /** Requests forwarded since the previous batch (0: only an open WebSocket). */
  requests: z.number().int().nonnegative(),
});
export type ActivityItem = z.infer<typeof ActivityItemSchema>;

/** A batch from one proxy replica to one node. */
export const ActivityBatchSchema = z.strictObject({
  /** The sending replica (for logs and metrics; not an identity check). */
  proxyId: z.string().min(1).max(128),
  /** ms since epoch when the batch was sent. */
  at: EpochMsSchema,
  items: z.array(ActivityItemSchema),
});
export type ActivityBatch = z.infer<typeof ActivityBatchSchema>;

/** msgpack bytes of a batch (not validated: the sender built it from typed data). */
export function encodeActivityBatch(batch: ActivityBatch): Uint8Array {
  return encodeMsgpack(batch);
}

/**
 * Decodes and validates a batch. Anything a node must not trust (undecodable
 * bytes, a bad id, a negative count) is `invalid_argument`.
 */
export function decodeActivityBatch(bytes: Uint8Array): ActivityBatch {
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch (err) {
    throw new InvalidArgumentError("activity batch is not valid msgpack", { cause: err });
  }
  return validateActivityBatch(raw);
}

/** Validates a decoded batch; throws `InvalidArgumentError` naming the first problem. */
export function validateActivityBatch(raw: unknown): ActivityBatch {
  const parsed = ActivityBatchSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
    throw new InvalidArgumentError(`invalid activity batch: ${where}${issue?.message ?? "malformed"}`);
  }
  return parsed.data;
}
