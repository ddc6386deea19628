/**
 * The cluster's identity (DESIGN.md, "Cluster identity"): an id made once and
 * kept in the KV bucket `corral_cluster` under one key. Every container a node
 * creates carries it as a label, so two clusters on one Docker engine never
 * touch each other's containers, even with the same node ids.
 *
 * Made with a CAS `create`: two nodes starting at once against a fresh store
 * both try, one wins, the other reads the winner's id. It is never rewritten:
 * a changed id would orphan every container of the cluster.
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { z } from "zod";
import { DEFAULTS, type CorralConfig } from "../config.js";
import { InternalError } from "../errors.js";
import { newClusterId, type ClusterId } from "../ids.js";
import { logger } from "../log.js";
import { ClusterIdSchema } from "../schema/record.js";
import { CLUSTER_BUCKET, CLUSTER_KEY } from "../subjects.js";
import { openSettingsBucket } from "./buckets.js";
import { isWrongLastSequence, mapStoreError } from "./kv-errors.js";

const log = logger("store");

/** The value under `corral_cluster/identity` (JSON, so `nats kv get` shows it as is). */
export const ClusterIdentitySchema = z.strictObject({
  clusterId: ClusterIdSchema,
  /** When the first process of the cluster made it (ms since epoch). */
  createdAt: z.number().int().nonnegative(),
});
/** The cluster's identity record. */
export type ClusterIdentity = z.infer<typeof ClusterIdentitySchema>;

/** Opens `corral_cluster` without creating it (null when absent: no node has started yet). */
async function findBucket(nc: NatsConnection): Promise<KV | null> {
  try {
    // `open` does not check that the bucket exists; the status call does.
    const kv = await new Kvm(nc).open(CLUSTER_BUCKET);
    await kv.status();
    return kv;
  } catch (err) {
    if (isBucketMissing(err)) return null;
    throw mapStoreError(err, { op: `open bucket ${CLUSTER_BUCKET}` });
  }
}

/** A bucket that does not exist is a missing stream (JetStream 10059). */
function isBucketMissing(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound;
}

async function readFrom(kv: KV): Promise<ClusterIdentity | null> {
  let entry;
  try {
    entry = await kv.get(CLUSTER_KEY);
  } catch (err) {
    throw mapStoreError(err, { op: `get ${CLUSTER_BUCKET}/${CLUSTER_KEY}`, key: CLUSTER_KEY });
  }
  if (!entry || entry.operation !== "PUT") return null;
  const parsed = ClusterIdentitySchema.safeParse(safeJson(entry.string()));
  if (!parsed.success) throw new InternalError(`${CLUSTER_BUCKET}/${CLUSTER_KEY} holds no valid cluster identity: ${parsed.error.message}`);
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * The cluster's id, or null when no node has started on this store yet.
 * For readers (UI, `corral nodes`, the proxy): it never creates anything.
 */
export async function readClusterId(nc: NatsConnection): Promise<ClusterId | null> {
  const kv = await findBucket(nc);
  return kv ? ((await readFrom(kv))?.clusterId ?? null) : null;
}

/**
 * The cluster's id, made on first start (CAS create, so processes starting at
 * once agree on one id). Called by every node before it touches a container,
 * and by `corral up` to print it.
 */
export async function ensureClusterId(nc: NatsConnection, config: Pick<CorralConfig, "replicas"> = DEFAULTS): Promise<ClusterId> {
  const kv = await openSettingsBucket(nc, CLUSTER_BUCKET, config);
  const existing = await readFrom(kv);
  if (existing) return existing.clusterId;
  const mine: ClusterIdentity = { clusterId: newClusterId(), createdAt: Date.now() };
  try {
    await kv.create(CLUSTER_KEY, JSON.stringify(mine));
    log.info({ clusterId: mine.clusterId }, "made the cluster's id");
    return mine.clusterId;
  } catch (err) {
    if (!isWrongLastSequence(err)) throw mapStoreError(err, { op: `create ${CLUSTER_BUCKET}/${CLUSTER_KEY}`, key: CLUSTER_KEY, expectedRevision: 0 });
  }
  // Another process made it first: its id is the cluster's.
  const winner = await readFrom(kv);
  if (!winner) throw new InternalError(`${CLUSTER_BUCKET}/${CLUSTER_KEY} was created by another process but cannot be read`);
  return winner.clusterId;
}
