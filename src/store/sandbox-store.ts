/**
 * The sandbox store: records in the `corral_sandboxes` KV bucket, every write
 * a compare-and-swap on the key's revision, and one transition event published
 * after each successful write (DESIGN.md, "Storage layout", "Events"). An
 * event lost after its write (a crash, a publish the server dropped) is
 * re-published from the KV by ./event-republisher.ts, under the same
 * JetStream message id, so the stream keeps one message per write.
 *
 * CAS discipline (STYLE.md item 3): a write is either `create` (key absent) or
 * `update(key, value, revision)` with the revision of the record the new value
 * was decided from. On a conflict the store re-reads and re-decides; it never
 * writes a value that was not decided from the latest read.
 */
import { jetstream, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralConfig } from "../config.js";
import { ConflictError, InternalError, NotFoundError, RevisionConflictError } from "../errors.js";
import type { SandboxEvent, SandboxEventName } from "../events.js";
import type { SandboxId } from "../ids.js";
import { logger } from "../log.js";
import type { SandboxState, StoredSandbox } from "../schema/record.js";
import { SANDBOX_BUCKET, sandboxKey } from "../subjects.js";
import { openEventsStream, openNodeBucket, openSandboxBucket } from "./buckets.js";
import { crashBeforeEventIfAsked } from "./crash-hook.js";
import { EventOutbox } from "./event-outbox.js";
import { mapStoreError } from "./kv-errors.js";
import { latestEntries } from "./kv-scan.js";
import { compileListQuery, selectPage, type ListPage, type ListQuery } from "./list-page.js";
import { decodeSandboxEntry, encodeSandboxForWrite, isDeletion } from "./record-codec.js";
import { withRevision } from "./record-check.js";
import { lastEventRevision, republishedEvent } from "./republish.js";

export type { ListPage, ListQuery } from "./list-page.js";

/** What a `Decide` wants written: the new record and the event that names the write. */
export interface WriteDecision {
  record: StoredSandbox;
  event: SandboxEventName;
}

/**
 * Called with the latest record; return null to write nothing (mutate then
 * resolves with `latest`). May throw a CorralError to abort. Must be pure and
 * synchronous: it can run several times for one `mutate` (once per CAS
 * attempt), each time with a newer record.
 */
export type Decide = (latest: StoredSandbox) => WriteDecision | null;

/** Options of `mutate`. */
export interface MutateOptions {
  /** CAS attempts before answering `conflict`. @default 5 */
  maxAttempts?: number;
}

/** @default attempts of `mutate` and `createIfAbsent`. */
export const DEFAULT_MAX_ATTEMPTS = 5;
/** First retry waits about this long; each further retry doubles it (jittered ±50%). */
const BACKOFF_BASE_MS = 4;

const log = logger("store");

/** Sleeps a jittered exponential backoff so that contending writers spread out instead of colliding again in lock-step. */
function backoff(attempt: number): Promise<void> {
  const ms = BACKOFF_BASE_MS * 2 ** (attempt - 1) * (0.5 + Math.random());
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sandbox records with CAS writes and an event per write. */
export class SandboxStore {
  /** Events of acknowledged writes not yet published (`flushEvents`). */
  readonly #held: SandboxEvent[] = [];
  #flushScheduled = false;
  /** Publishes them with the stream's acknowledgement, resending until stored. */
  readonly #events: EventOutbox;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly jsm: JetStreamManager,
  ) {
    this.#events = new EventOutbox(nc, jetstream(nc));
  }

  /** Opens (creating if absent) the corral_sandboxes and corral_nodes buckets and the CORRAL_EVENTS stream. */
  static async open(nc: NatsConnection, config: CorralConfig): Promise<SandboxStore> {
    const [kv, jsm] = await Promise.all([openSandboxBucket(nc, config), jetstreamManager(nc, { checkAPI: false }), openNodeBucket(nc, config), openEventsStream(nc, config)]);
    return new SandboxStore(nc, kv, jsm);
  }

  /**
   * The record, or null when the key is absent, deleted or purged. `revision`
   * is the KV entry's. A stored value that fails the schema is `internal`.
   */
  async get(id: SandboxId): Promise<StoredSandbox | null> {
    const key = sandboxKey(id);
    let entry: KvEntry | null;
    try {
      entry = await this.kv.get(key);
    } catch (err) {
      throw mapStoreError(err, { op: `get ${SANDBOX_BUCKET}/${key}`, key });
    }
    if (entry === null || isDeletion(entry)) return null;
    const decoded = decodeSandboxEntry(entry);
    if (!decoded.ok) {
      log.error({ sandboxId: id, revision: entry.revision, reason: decoded.reason }, "corrupt sandbox record");
      throw new InternalError(`sandbox ${id}: stored record is corrupt (revision ${entry.revision})`);
    }
    return decoded.record;
  }

  /**
   * One page of records, newest first (see `list-page.ts` for the rules). Reads
   * every record once per call: O(n) in the bucket's keys, see docs/storage.md.
   * The query is validated before anything is read.
   */
  async list(query: ListQuery): Promise<ListPage> {
    const compiled = compileListQuery(query);
    const all: StoredSandbox[] = [];
    for await (const record of this.scan()) all.push(record);
    return selectPage(compiled, all);
  }

  /**
   * Every record, tombstones included, in key-arrival order (for start-up of a
   * proxy or node). Corrupt values are logged and skipped, never thrown.
   */
  async *scan(): AsyncIterable<StoredSandbox> {
    for await (const entry of latestEntries(this.kv, this.jsm, SANDBOX_BUCKET)) {
      if (isDeletion(entry)) continue;
      const decoded = decodeSandboxEntry(entry);
      if (decoded.ok) yield decoded.record;
      else log.error({ key: entry.key, revision: entry.revision, reason: decoded.reason }, "skipping corrupt sandbox record");
    }
  }

  /**
   * Creates the record if its key is absent (or holds a delete marker). Of N
   * concurrent callers exactly one gets `created: true`; the others get the
   * record that won with `created: false` (no event from them).
   */
  async createIfAbsent(
    record: StoredSandbox,
    event: SandboxEventName = "create",
  ): Promise<{ record: StoredSandbox; created: boolean }> {
    const key = sandboxKey(record.sandboxId);
    const value = encodeSandboxForWrite(record);
    for (let attempt = 1; attempt <= DEFAULT_MAX_ATTEMPTS; attempt++) {
      let revision: number;
      try {
        revision = await this.kv.create(key, value);
      } catch (err) {
        const mapped = mapStoreError(err, { op: `create ${SANDBOX_BUCKET}/${key}`, key, expectedRevision: 0 });
        if (!(mapped instanceof RevisionConflictError)) throw mapped;
        const existing = await this.get(record.sandboxId);
        if (existing !== null) return { record: existing, created: false };
        // The winner's record was deleted before we could read it: contend again.
        continue;
      }
      return { record: this.published(null, { record, event }, revision), created: true };
    }
    throw new ConflictError(`sandbox ${record.sandboxId}: CAS lost after retries`, { retryable: true });
  }

  /**
   * Read → `decide(latest)` → `update(key, value, latest.revision)`; on a
   * revision conflict re-read and re-decide, up to `maxAttempts`, then
   * `conflict` ("CAS lost after retries"). Resolves with the record as
   * persisted (its new revision), or `latest` when `decide` returned null.
   * An absent, deleted or purged key is `not_found`.
   */
  async mutate(id: SandboxId, decide: Decide, opts: MutateOptions = {}): Promise<StoredSandbox> {
    const maxAttempts = opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
    const key = sandboxKey(id);
    for (let attempt = 1; ; attempt++) {
      const latest = await this.get(id);
      if (latest === null) throw new NotFoundError(`sandbox ${id} not found`);
      const decision = decide(latest);
      if (decision === null) return latest;
      if (decision.record.sandboxId !== id) {
        throw new InternalError(`decide for ${id} returned a record of ${decision.record.sandboxId}`);
      }
      const value = encodeSandboxForWrite(decision.record, latest);
      let revision: number;
      try {
        revision = await this.kv.update(key, value, latest.revision);
      } catch (err) {
        const mapped = mapStoreError(err, { op: `update ${SANDBOX_BUCKET}/${key}`, key, expectedRevision: latest.revision });
        if (!(mapped instanceof RevisionConflictError)) throw mapped;
        if (attempt >= maxAttempts) {
          throw new ConflictError(`sandbox ${id}: CAS lost after retries`, { cause: mapped, retryable: true });
        }
        await backoff(attempt);
        continue;
      }
      // No await between the ack and queueing the event: events leave in the
      // order this process's writes were acknowledged, i.e. in revision order.
      return this.published(latest.state, decision, revision);
    }
  }

  /**
   * The single writer's fast path: writes `decision.record` only if the key
   * is still at `base.revision` (the record this writer stored last), without
   * reading it first. One round trip instead of `mutate`'s two. Any other
   * revision is a `RevisionConflictError`; the caller then falls back to
   * `mutate`, which re-reads and re-decides. Its event is held until the
   * caller's reply has gone out or the macrotask ends (`flushEvents`).
   */
  async updateAt(base: StoredSandbox, decision: WriteDecision): Promise<StoredSandbox> {
    if (decision.record.sandboxId !== base.sandboxId) {
      throw new InternalError(`updateAt for ${base.sandboxId} was given a record of ${decision.record.sandboxId}`);
    }
    const key = sandboxKey(base.sandboxId);
    const value = encodeSandboxForWrite(decision.record, base);
    let revision: number;
    try {
      revision = await this.kv.update(key, value, base.revision);
    } catch (err) {
      throw mapStoreError(err, { op: `update ${SANDBOX_BUCKET}/${key}`, key, expectedRevision: base.revision });
    }
    return this.published(base.state, decision, revision, true);
  }

  /**
   * Publishes the event of a write that landed although its caller never saw
   * the acknowledgement (a timed-out update that the server had applied), so
   * that event consumers still see every transition once.
   */
  publishLanded(from: SandboxState, record: StoredSandbox, event: SandboxEventName): void {
    this.published(from, { record, event }, record.revision);
  }

  /**
   * Publishes the event of the sandbox's current value when `CORRAL_EVENTS`
   * has no event at or past its revision (a direct get by subject), as the
   * re-publisher would (`republished`, `at` the KV write's time, `from`
   * unknown). For a node adopting a record of its own: a write whose
   * acknowledgement was lost past the writer's retries landed, but the writer
   * reported it failed and sent no event, and the re-publisher's watch may
   * have been down for as long (a stream leader lost). Resolves true when it
   * published.
   */
  async publishIfMissing(id: SandboxId): Promise<boolean> {
    const key = sandboxKey(id);
    let entry: KvEntry | null;
    let last: number;
    try {
      [entry, last] = await Promise.all([this.kv.get(key), lastEventRevision(this.jsm, id)]);
    } catch (err) {
      throw mapStoreError(err, { op: `check the last event of ${SANDBOX_BUCKET}/${key}`, key });
    }
    if (entry === null || isDeletion(entry) || entry.revision <= last) return false;
    const decoded = decodeSandboxEntry(entry);
    if (!decoded.ok) return false; // `get` reports a corrupt record
    log.warn({ sandboxId: id, revision: entry.revision, lastEvent: last }, "publishing the missing event of a write that landed unacknowledged");
    this.#held.push(republishedEvent(entry, decoded.record, null));
    this.flushEvents();
    return true;
  }

  /**
   * Deletes a killed tombstone, only if its revision is still `revision`
   * (a purge with an expected last sequence: history is dropped too). Returns
   * false when the record changed or is already gone. A record at that
   * revision that is not `killed` is `conflict`: only tombstones are deleted.
   * No event is published (a delete is not a record write).
   */
  async deleteIfRevision(id: SandboxId, revision: number): Promise<boolean> {
    if (!Number.isSafeInteger(revision) || revision <= 0) {
      // previousSeq 0 would make nats.js purge unconditionally.
      throw new InternalError(`deleteIfRevision(${id}): revision must be a positive integer, got ${revision}`);
    }
    const current = await this.get(id);
    if (current === null || current.revision !== revision) return false;
    if (current.state !== "killed") throw new ConflictError(`sandbox ${id} is ${current.state}: only killed tombstones are deleted`);
    const key = sandboxKey(id);
    try {
      await this.kv.purge(key, { previousSeq: revision });
      return true;
    } catch (err) {
      const mapped = mapStoreError(err, { op: `purge ${SANDBOX_BUCKET}/${key}`, key, expectedRevision: revision });
      if (mapped instanceof RevisionConflictError) return false;
      throw mapped;
    }
  }

  /**
   * Publishes the events held so far. `updateAt` holds its event until the
   * caller's reply has been sent (`flushEventsAfterReply`: the event then
   * leaves right behind the reply) or until the current macrotask ends,
   * whichever comes first. Other writes publish
   * at once. Events leave in the order their writes were acknowledged, each
   * resent until the stream has it (./event-outbox.ts).
   */
  flushEvents(): void {
    this.#flushScheduled = false;
    if (this.#held.length === 0) return;
    for (const event of this.#held.splice(0)) this.#events.send(event);
  }

  /**
   * `flushEvents` for a caller that has just sent its reply: nats.js writes
   * what was published in a microtask queued by the first publish, so the
   * held events are encoded and published in a later microtask. The reply's
   * bytes leave first and the events in the next socket write, instead of
   * the reply waiting for the events' encoding.
   */
  flushEventsAfterReply(): void {
    if (this.#held.length > 0) queueMicrotask(() => this.flushEvents());
  }

  /** Flushes published events so none is lost when the caller closes the connection next. The connection itself is the caller's. */
  async close(): Promise<void> {
    this.flushEvents();
    await this.#events.close();
    if (this.nc.isClosed()) return;
    try {
      await this.nc.flush();
    } catch (err) {
      throw mapStoreError(err, { op: "flush events" });
    }
  }

  /**
   * Sets the new revision on the record and publishes its event, or with
   * `held` queues it (see `flushEvents`); returns the record as persisted.
   * Events leave in acknowledgement order either way: a publish first sends
   * whatever is queued. Never throws: the write is durable, so a failure now
   * would tell the caller it failed.
   */
  private published(from: SandboxState | null, decision: WriteDecision, revision: number, held = false): StoredSandbox {
    crashBeforeEventIfAsked(decision.event);
    const record = withRevision(decision.record, revision);
    const event = { sandboxId: record.sandboxId, from, to: record.state, event: decision.event, revision, at: Date.now(), nodeId: record.nodeId, record };
    this.#held.push(event);
    if (!held) this.flushEvents();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      setImmediate(() => this.flushEvents());
    }
    return record;
  }
}
