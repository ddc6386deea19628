/**
 * The node registry: one record per live node in `corral_nodes`. A node's
 * lease is the bucket's max-age (`nodeLeaseMs`); each heartbeat (`put`)
 * renews it. A node that stops heartbeating drops out: readers treat a record
 * whose `heartbeatAt + nodeLeaseMs` has passed as gone even before the server
 * expires the message (expiry runs on the server's own schedule).
 */
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { KV, KvEntry, KvWatchEntry } from "@nats-io/kv";
import type { NatsConnection, QueuedIterator } from "@nats-io/nats-core";
import type { CorralConfig } from "../config.js";
import type { NodeId } from "../ids.js";
import { logger } from "../log.js";
import { NODE_BUCKET, nodeKey } from "../subjects.js";
import { kvStream, openNodeBucket } from "./buckets.js";
import { mapStoreError } from "./kv-errors.js";
import { decodeNodeRecord, encodeNodeRecord, nodeState, type NodeRecord, type NodeState } from "./node-record.js";
import { isDeletion } from "./record-codec.js";

export type { NodeRecord } from "./node-record.js";
export { NodeRecordSchema, nodeState, type NodeState } from "./node-record.js";

/** A node record with its state at the time it was read. */
export interface NodeView {
  record: NodeRecord;
  state: NodeState;
}

const log = logger("node-registry");

/** Live node records with lease semantics. */
export class NodeRegistry {
  private constructor(
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
    private readonly leaseMs: number,
    private readonly stopGraceMs: number,
  ) {}

  /** Opens (creating if absent) the `corral_nodes` bucket with max-age = `config.nodeLeaseMs`. */
  static async open(nc: NatsConnection, config: CorralConfig): Promise<NodeRegistry> {
    const kv = await openNodeBucket(nc, config);
    try {
      return new NodeRegistry(kv, await jetstreamManager(nc), config.nodeLeaseMs, config.nodeStopGraceMs);
    } catch (err) {
      throw mapStoreError(err, { op: `open bucket ${NODE_BUCKET}` });
    }
  }

  /** Writes (registers or heartbeats) a node record; returns its new revision. */
  async put(record: NodeRecord): Promise<number> {
    const key = nodeKey(record.nodeId);
    const value = encodeNodeRecord(record);
    try {
      return await this.kv.put(key, value);
    } catch (err) {
      throw mapStoreError(err, { op: `put ${NODE_BUCKET}/${key}`, key });
    }
  }

  /** The node's record; null if absent, removed, or its lease expired (`heartbeatAt + nodeLeaseMs < now`). */
  async get(id: NodeId): Promise<NodeRecord | null> {
    const key = nodeKey(id);
    let entry: KvEntry | null;
    try {
      entry = await this.kv.get(key);
    } catch (err) {
      throw mapStoreError(err, { op: `get ${NODE_BUCKET}/${key}`, key });
    }
    return entry === null ? null : this.live(entry, Date.now());
  }

  /** The node's last record whatever its state (a restarting node reads its drain flag from it); null if absent. */
  async last(id: NodeId): Promise<NodeRecord | null> {
    const key = nodeKey(id);
    try {
      const entry = await this.kv.get(key);
      return entry === null ? null : this.decode(entry);
    } catch (err) {
      throw mapStoreError(err, { op: `get ${NODE_BUCKET}/${key}`, key });
    }
  }

  /**
   * Every node that holds its sandboxes (state ready, draining or stopping),
   * ordered by node id. The scheduler takes only `ready` ones
   * ({@link nodeState}); the lost-node sweep spares all of them.
   */
  async list(): Promise<NodeRecord[]> {
    return (await this.listAll()).filter((n) => n.state !== "lost").map((n) => n.record);
  }

  /**
   * Every node record in the bucket with its state, `lost` ones included
   * (kept until the bucket's max-age removes them), ordered by node id.
   * The keys come from the stream's per-subject state, which the server
   * updates when max-age expires a message. A `LastValue` watcher is not used
   * here: on nats-server 2.9 its pending count can still include a message
   * that max-age has removed, so a scan that ends on `delta === 0` would wait
   * for an entry that never comes.
   */
  async listAll(): Promise<NodeView[]> {
    const op = `list ${NODE_BUCKET}`;
    const prefix = `$KV.${NODE_BUCKET}.`;
    let entries: (KvEntry | null)[];
    try {
      const info = await this.jsm.streams.info(kvStream(NODE_BUCKET), { subjects_filter: `${prefix}>` });
      const keys = Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
      entries = await Promise.all(keys.map((key) => this.kv.get(key)));
    } catch (err) {
      throw mapStoreError(err, { op });
    }
    const now = Date.now();
    const out: NodeView[] = [];
    for (const entry of entries) {
      const record = entry === null ? null : this.decode(entry);
      if (record) out.push({ record, state: nodeState(record, now, this.leaseMs, this.stopGraceMs) });
    }
    return out.sort((a, b) => (a.record.nodeId < b.record.nodeId ? -1 : a.record.nodeId > b.record.nodeId ? 1 : 0));
  }

  /** Removes the node's record (graceful shutdown releases the lease at once). */
  async remove(id: NodeId): Promise<void> {
    const key = nodeKey(id);
    try {
      await this.kv.delete(key);
    } catch (err) {
      throw mapStoreError(err, { op: `delete ${NODE_BUCKET}/${key}`, key });
    }
  }

  /**
   * Calls `onChange(nodeId, record)` for every live node now and on every
   * heartbeat after, and `onChange(nodeId, null)` when a known node is removed
   * or its lease runs out. Expiry by max-age produces no KV notification, so
   * the watcher arms one timer per node at `heartbeatAt + nodeLeaseMs`, reset
   * by each heartbeat. `onChange` runs synchronously and must not block.
   * Returns a function that stops watching.
   */
  watch(onChange: (nodeId: NodeId, record: NodeRecord | null) => void): () => void {
    const expiries = new Map<NodeId, NodeJS.Timeout>();
    let stopped = false;
    let watcher: QueuedIterator<KvWatchEntry> | undefined;

    const forget = (id: NodeId) => {
      const timer = expiries.get(id);
      if (timer === undefined) return;
      clearTimeout(timer);
      expiries.delete(id);
      onChange(id, null);
    };
    const apply = (entry: KvWatchEntry) => {
      const record = this.live(entry, Date.now());
      const id = (record?.nodeId ?? entry.key) as NodeId;
      if (record === null) return forget(id);
      clearTimeout(expiries.get(id));
      const endsAt = record.stoppingAt !== undefined ? record.stoppingAt + this.stopGraceMs : record.heartbeatAt + this.leaseMs;
      const leftMs = endsAt - Date.now();
      expiries.set(
        id,
        setTimeout(() => forget(id), Math.max(0, leftMs)),
      );
      onChange(id, record);
    };

    void (async () => {
      try {
        watcher = await this.kv.watch();
        if (stopped) return watcher.stop();
        for await (const entry of watcher) apply(entry);
      } catch (err) {
        if (!stopped) log.error({ err: mapStoreError(err, { op: `watch ${NODE_BUCKET}` }) }, "node watch ended");
      }
    })();

    return () => {
      stopped = true;
      watcher?.stop();
      for (const timer of expiries.values()) clearTimeout(timer);
      expiries.clear();
    };
  }

  /** The entry's record if it is a node record that still holds its sandboxes; null for markers, corrupt values and lost nodes. */
  private live(entry: KvEntry, nowMs: number): NodeRecord | null {
    const record = this.decode(entry);
    return record === null || nodeState(record, nowMs, this.leaseMs, this.stopGraceMs) === "lost" ? null : record;
  }

  /** The entry's node record; null for markers and corrupt values. */
  private decode(entry: KvEntry): NodeRecord | null {
    if (isDeletion(entry)) return null;
    const decoded = decodeNodeRecord(entry.value, entry.revision);
    if (!decoded.ok) {
      log.error({ key: entry.key, revision: entry.revision, reason: decoded.reason }, "skipping corrupt node record");
      return null;
    }
    return decoded.record;
  }
}
