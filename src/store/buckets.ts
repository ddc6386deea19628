/**
 * Opening (creating when absent) Corral's JetStream resources: the
 * `corral_sandboxes` and `corral_nodes` KV buckets and the `CORRAL_EVENTS`
 * stream. Opening is idempotent and safe to race between processes: an
 * existing bucket or stream is opened, and the settings Corral owns (the node
 * lease, the events bounds, the replica count) are brought in line with the
 * configuration. Replicas are only ever raised (DESIGN.md, "Cluster"): a
 * process told fewer than a stream has leaves it alone, so a proxy or UI
 * started without `CORRAL_REPLICAS` never shrinks a replicated cluster.
 */
import {
  DiscardPolicy,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  jetstreamManager,
  type JetStreamManager,
  type StreamConfig,
} from "@nats-io/jetstream";
import { Kvm, type KV, type KvOptions } from "@nats-io/kv";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import { DEFAULTS, type CorralConfig } from "../config.js";
import { logger } from "../log.js";
import { EVENTS_STREAM, NODE_BUCKET, SANDBOX_BUCKET, subjects } from "../subjects.js";
import { mapStoreError } from "./kv-errors.js";

const log = logger("store");

/** Values kept per sandbox key: the current record and the one before it (to debug a bad write). */
export const SANDBOX_HISTORY = 2;

/** The JetStream stream behind a KV bucket. */
export const kvStream = (bucket: string) => `KV_${bucket}`;

/** nats-server's answers to a stream add that lost a creation race to another process's add of the same stream. */
const LOST_CREATION_RACE = new Set([10058 /* stream name already in use */, 10065 /* subjects overlap with an existing stream */]);

/**
 * `Kvm.create`, safe to race: nats.js adds the bucket's stream when its info
 * says it is absent, so two processes opening a new bucket at once both add
 * it, and nats-server 2.9 refuses the later add (name in use, or its subjects
 * overlapping the stream just made). The bucket exists then: it is opened.
 */
async function createKv(nc: NatsConnection, bucket: string, opts: Partial<KvOptions>): Promise<KV> {
  try {
    return await new Kvm(nc).create(bucket, opts);
  } catch (err) {
    if (!(err instanceof JetStreamApiError && LOST_CREATION_RACE.has(err.code))) throw err;
    return new Kvm(nc).create(bucket, opts);
  }
}

/**
 * Opens `corral_sandboxes`: file storage, history 2, no max-age (expiry is
 * Corral's own `endAt`/tombstone timers), at least `config.replicas` replicas.
 */
export async function openSandboxBucket(nc: NatsConnection, config: Pick<CorralConfig, "replicas"> = DEFAULTS): Promise<KV> {
  try {
    const kv = await createKv(nc, SANDBOX_BUCKET, { history: SANDBOX_HISTORY, storage: StorageType.File, replicas: config.replicas });
    await reconcileStream(await jetstreamManager(nc), kvStream(SANDBOX_BUCKET), {}, config.replicas);
    return kv;
  } catch (err) {
    throw mapStoreError(err, { op: `open bucket ${SANDBOX_BUCKET}` });
  }
}

/**
 * Opens (creating when absent) a small bucket of cluster-wide settings:
 * `corral_cluster` (the cluster's identity, src/store/cluster-id.ts) or
 * `corral_api_keys` (src/store/api-keys.ts). History 1, at least
 * `config.replicas` replicas, raised like the other buckets: losing one with
 * a server would make a new cluster of every container, or lock every E2B
 * client out.
 */
export async function openSettingsBucket(nc: NatsConnection, bucket: string, config: Pick<CorralConfig, "replicas"> = DEFAULTS): Promise<KV> {
  try {
    const kv = await createKv(nc, bucket, { history: 1, storage: StorageType.File, replicas: config.replicas });
    await reconcileStream(await jetstreamManager(nc), kvStream(bucket), {}, config.replicas);
    return kv;
  } catch (err) {
    throw mapStoreError(err, { op: `open bucket ${bucket}` });
  }
}

/**
 * Max-age of `corral_nodes`: the lease plus the stop grace, so the record of
 * a node stopped on purpose (marked `stopping`) outlives its lease for the
 * grace. Readers judge leases by `heartbeatAt`, never by presence.
 */
export function nodeRecordMaxAgeMs(config: Pick<CorralConfig, "nodeLeaseMs" | "nodeStopGraceMs">): number {
  return config.nodeLeaseMs + config.nodeStopGraceMs;
}

/**
 * Opens `corral_nodes`, whose max-age is {@link nodeRecordMaxAgeMs}: a node
 * that stops heartbeating drops out of the bucket by itself once that has
 * passed (bucket max-age works on nats-server 2.9; per-message TTL does not).
 */
export async function openNodeBucket(nc: NatsConnection, config: CorralConfig): Promise<KV> {
  const op = `open bucket ${NODE_BUCKET}`;
  try {
    const maxAgeMs = nodeRecordMaxAgeMs(config);
    const kv = await createKv(nc, NODE_BUCKET, { history: 1, ttl: maxAgeMs, storage: StorageType.File, replicas: config.replicas });
    // An existing bucket keeps the max-age it was made with; a changed lease
    // must reach it, or nodes would expire on the old lease.
    await reconcileStream(await jetstreamManager(nc), kvStream(NODE_BUCKET), { max_age: nanos(maxAgeMs) }, config.replicas);
    return kv;
  } catch (err) {
    throw mapStoreError(err, { op });
  }
}

/**
 * Opens (or creates) `CORRAL_EVENTS`: captures `corral.v1.events.>`, file
 * storage, oldest events discarded beyond `eventsMaxAgeMs` / `eventsMaxBytes`.
 * Two processes creating it at once is fine: the loser of `add` opens it.
 */
export async function openEventsStream(nc: NatsConnection, config: CorralConfig): Promise<void> {
  const wanted: Partial<StreamConfig> = {
    subjects: [subjects.eventsStreamFilter],
    max_age: nanos(config.eventsMaxAgeMs),
    max_bytes: config.eventsMaxBytes,
  };
  const op = `open stream ${EVENTS_STREAM}`;
  try {
    const jsm = await jetstreamManager(nc);
    const created = await jsm.streams
      .add({
        name: EVENTS_STREAM,
        ...wanted,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        num_replicas: config.replicas,
      })
      .then(
        () => true,
        // "stream name already in use" (with a different config) or a lost
        // creation race: fall through to open and reconcile it.
        () => false,
      );
    if (!created) await reconcileStream(jsm, EVENTS_STREAM, wanted, config.replicas);
  } catch (err) {
    throw mapStoreError(err, { op });
  }
}

/**
 * Updates the stream when any of `wanted` differs from its config, or when it
 * has fewer than `minReplicas` replicas (raised in the same update; JetStream
 * adds the peers and catches them up in place). More replicas than asked are
 * kept. Throws StreamNotFoundError if the stream is absent.
 */
async function reconcileStream(jsm: JetStreamManager, name: string, wanted: Partial<StreamConfig>, minReplicas: number): Promise<void> {
  const info = await jsm.streams.info(name);
  const current = info.config as unknown as Record<string, unknown>;
  const change: Partial<StreamConfig> = Object.fromEntries(
    Object.entries(wanted).filter(([k, v]) => JSON.stringify(current[k]) !== JSON.stringify(v)),
  );
  const replicas = info.config.num_replicas || 1;
  if (replicas < minReplicas) {
    change.num_replicas = minReplicas;
    log.info({ stream: name, from: replicas, to: minReplicas }, "raising stream replicas to match configuration");
  } else if (replicas > minReplicas) {
    log.info({ stream: name, replicas, configured: minReplicas }, "stream has more replicas than configured; keeping them (replicas are never lowered)");
  }
  if (Object.keys(change).length === 0) return;
  if (Object.keys(change).some((k) => k !== "num_replicas")) {
    log.info({ stream: name, from: pick(current, Object.keys(wanted)), to: wanted }, "updating stream limits to match configuration");
  }
  await jsm.streams.update(name, { ...info.config, ...change });
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.map((k) => [k, obj[k]]));
}
