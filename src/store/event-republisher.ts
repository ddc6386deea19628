/**
 * Events follow writes (DESIGN.md, "Cluster"): every acknowledged record
 * write reaches `CORRAL_EVENTS`, also when its writer dies between the KV's
 * acknowledgement and its publish, or the server drops the publish. Every
 * node process runs one re-publisher; it watches `corral_sandboxes` and
 * re-publishes, from the KV entry, the event of any write whose own event the
 * stream has not got. Both the writer and the re-publisher send the event
 * with `Nats-Msg-Id: <sandboxId>:<revision>`, so within the stream's
 * duplicate window one write is one stream message however many processes
 * send it.
 *
 * Two phases, started again after every reconnect (a server restart can end
 * both watchers, and publishes made while the stream had no leader are lost):
 *
 * - **Catch-up.** A KV watch with every retained value (`AllHistory`, history
 *   2) up to the bucket's last revision at start (or `delta === 0`). A value whose revision is greater than the
 *   revision of the sandbox's last event in the stream (one direct get by
 *   subject) is re-published. A process that crashed loses only a suffix of
 *   its own writes' events, so "greater than the last" finds them; a node
 *   process runs the catch-up before its node actor writes anything.
 * - **Live.** Each later write is held for `graceMs` (plus jitter, so the
 *   re-publishers of several nodes do not all fire) while an ordered consumer
 *   of the stream reports the events that arrive; a write whose event did not
 *   arrive is re-published. A failed publish is retried on the next tick.
 *
 * What a re-published event carries (docs/storage.md, "Events"): the record,
 * revision, `to` and `nodeId` exactly as written; `at` is the KV write's
 * time; `event` is `republished` because the trigger of a write is not in the
 * KV; `from` is the state of the key's previous value when this watcher has
 * seen it (the exact predecessor: a KV watch delivers every value of a key in
 * order), else null.
 */
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralConfig } from "../config.js";
import { decodeEvent, encodeEvent, eventHeaders, eventMsgId, type SandboxEvent } from "../events.js";
import type { SandboxId } from "../ids.js";
import { logger, type Logger } from "../log.js";
import type { SandboxState } from "../schema/record.js";
import { EVENTS_STREAM, SANDBOX_BUCKET, subjects } from "../subjects.js";
import { openEventsStream, openSandboxBucket } from "./buckets.js";
import { decodeSandboxEntry, isDeletion } from "./record-codec.js";
import { lastEventRevision, republishedEvent } from "./republish.js";

/** Options of {@link EventRepublisher.start}. */
export interface EventRepublisherOptions {
  /** How long a live write's own event has to reach the stream before it is re-published (plus up to as much jitter). @default 2000 */
  graceMs?: number;
  /** @default logger("republisher") */
  log?: Logger;
}

/** @default grace of a live write's own event. */
export const DEFAULT_REPUBLISH_GRACE_MS = 2_000;
/** Catch-up direct gets in flight at once. */
const CATCH_UP_CONCURRENCY = 32;
/**
 * Catch-up sends every value written within this long, not only those newer
 * than the sandbox's last event: a lost event can sit behind newer ones (a
 * stream leader lost mid-write, the watch ended and restarted after later
 * writes). Below the stream's duplicate window (2 min, the default), so the
 * stream drops the ones it has.
 */
const RESEND_RECENT_MS = 100_000;
/** How long the arrival of an event no KV value is waiting for is remembered (its value may come later). */
const SEEN_TTL_MS = 120_000;

interface Pending {
  event: SandboxEvent;
  dueAt: number;
}

interface Watchers {
  kv: Awaited<ReturnType<KV["watch"]>>;
  events: ConsumerMessages;
}

/** Re-publishes the events of writes whose own event never reached CORRAL_EVENTS. */
export class EventRepublisher {
  /** Live writes whose event has not been seen in the stream yet, by message id. */
  readonly #pending = new Map<string, Pending>();
  /** Events seen in the stream that no pending write was waiting for yet, by message id → when seen. */
  readonly #seen = new Map<string, number>();
  /** State of each key's latest value seen by the KV watch: the `from` of the next value. */
  readonly #states = new Map<SandboxId, SandboxState>();
  readonly #graceMs: number;
  readonly #log: Logger;
  #watchers: Watchers | undefined;
  #tick: NodeJS.Timeout | undefined;
  #stopped = false;
  #flushing = false;
  #refollowing = false;
  #republished = 0;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly config: CorralConfig,
    opts: EventRepublisherOptions,
  ) {
    this.#graceMs = opts.graceMs ?? DEFAULT_REPUBLISH_GRACE_MS;
    this.#log = opts.log ?? logger("republisher");
  }

  /**
   * Opens the bucket and stream (creating them if absent), runs the catch-up
   * and resolves once every missing event it found is in the stream; then
   * follows live writes until `stop`.
   */
  static async start(nc: NatsConnection, config: CorralConfig, opts: EventRepublisherOptions = {}): Promise<EventRepublisher> {
    const [kv] = await Promise.all([openSandboxBucket(nc, config), openEventsStream(nc, config)]);
    const r = new EventRepublisher(nc, kv, jetstream(nc), await jetstreamManager(nc), config, opts);
    await r.#follow();
    r.#tick = setInterval(() => void r.#flushDue(), Math.max(50, Math.floor(r.#graceMs / 4)));
    r.#tick.unref();
    void r.#followReconnects();
    return r;
  }

  /** Events this process has re-published so far. */
  get republished(): number {
    return this.#republished;
  }

  /** Stops both watchers and the timer. Pending writes are left to the other processes' re-publishers (or the next start's catch-up). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#tick);
    this.#stopWatchers();
  }

  #stopWatchers(): void {
    const w = this.#watchers;
    this.#watchers = undefined;
    if (w === undefined) return;
    w.kv.stop();
    void w.events.close().catch(() => undefined);
  }

  /**
   * Starts the stream consumer first (so that no event of a live write can
   * pass unseen), then the KV watch; resolves when the catch-up is published.
   */
  async #follow(): Promise<void> {
    this.#stopWatchers();
    this.#states.clear();
    const consumer = await this.js.consumers.get(EVENTS_STREAM, { filter_subjects: subjects.allSandboxEvents, deliver_policy: DeliverPolicy.New });
    const events = await consumer.consume();
    void this.#readEvents(events);
    // The catch-up ends at the bucket's last revision as of now, or when
    // nothing is pending: under a steady write load `delta` (pending) may
    // never reach 0, since every new write adds to it.
    const status = await this.kv.status();
    const lastRevision = status.streamInfo.state.last_seq;
    const kvWatch = await this.kv.watch({ include: KvWatchInclude.AllHistory });
    this.#watchers = { kv: kvWatch, events };
    const backlog: SandboxEvent[] = [];
    let caughtUp = status.values === 0;
    await new Promise<void>((resolve, reject) => {
      if (caughtUp) resolve();
      void (async () => {
        for await (const entry of kvWatch) {
          const event = this.#eventOf(entry);
          if (event !== null) {
            if (caughtUp) this.#expect(event);
            else if (event.at >= Date.now() - this.config.eventsMaxAgeMs) backlog.push(event);
          }
          if (!caughtUp && (entry.delta === 0 || entry.revision >= lastRevision)) {
            caughtUp = true;
            resolve();
          }
        }
      })().then(
        () => this.#watcherEnded(kvWatch, "KV watch", undefined),
        (err: unknown) => (caughtUp ? this.#watcherEnded(kvWatch, "KV watch", err) : reject(err)),
      );
    });
    await this.#publishBacklog(backlog);
  }

  /** The event a KV value stands for, or null for a delete marker or a corrupt value (logged). */
  #eventOf(entry: KvEntry): SandboxEvent | null {
    const id = entry.key as SandboxId;
    if (isDeletion(entry)) {
      this.#states.delete(id);
      return null;
    }
    const decoded = decodeSandboxEntry(entry);
    if (!decoded.ok) {
      this.#log.error({ key: entry.key, revision: entry.revision, reason: decoded.reason }, "corrupt sandbox record: no event re-published");
      return null;
    }
    const record = decoded.record;
    const from = this.#states.get(id) ?? null;
    this.#states.set(id, record.state);
    return republishedEvent(entry, record, from);
  }

  /** A live write: wait for its own event, unless it has already passed. */
  #expect(event: SandboxEvent): void {
    const id = eventMsgId(event);
    if (this.#seen.delete(id)) return;
    this.#pending.set(id, { event, dueAt: Date.now() + this.#graceMs * (1 + Math.random()) });
  }

  async #readEvents(events: ConsumerMessages): Promise<void> {
    try {
      for await (const msg of events) {
        let id = msg.headers?.get("Nats-Msg-Id") ?? "";
        if (id === "") {
          try {
            id = eventMsgId(decodeEvent(msg.data));
          } catch {
            continue; // not an event: nothing to match
          }
        }
        if (!this.#pending.delete(id)) this.#seen.set(id, Date.now());
      }
      this.#watcherEnded(events, "events consumer", undefined);
    } catch (err) {
      this.#watcherEnded(events, "events consumer", err);
    }
  }

  /**
   * A watcher of the current pair ended without `stop` (a stream leader lost
   * while this process's own server stayed up: no reconnect follows): both
   * start again, with a catch-up, so that no write goes unwatched.
   */
  #watcherEnded(watcher: object, what: string, err: unknown): void {
    const current = this.#watchers;
    if (this.#stopped || current === undefined || (current.kv !== watcher && current.events !== watcher)) return;
    this.#log.warn({ err, bucket: SANDBOX_BUCKET }, `re-publisher's ${what} ended; following again`);
    void this.#refollow();
  }

  /** Publishes each backlog value newer than its sandbox's last event in the stream, in revision order per sandbox. */
  async #publishBacklog(backlog: SandboxEvent[]): Promise<void> {
    const bySandbox = new Map<SandboxId, SandboxEvent[]>();
    for (const e of backlog) {
      const list = bySandbox.get(e.sandboxId);
      if (list === undefined) bySandbox.set(e.sandboxId, [e]);
      else list.push(e);
    }
    const groups = [...bySandbox.values()];
    let missing = 0;
    const worker = async () => {
      for (let group = groups.pop(); group !== undefined; group = groups.pop()) {
        const last = await lastEventRevision(this.jsm, group[0]!.sandboxId);
        const recentSince = Date.now() - RESEND_RECENT_MS;
        for (const event of group) {
          // Older than the sandbox's last event: only a recent one is sent (the stream drops it if it has it).
          if (event.revision <= last && event.at < recentSince) continue;
          missing++;
          await this.#publish(event);
        }
      }
    };
    await Promise.all(Array.from({ length: CATCH_UP_CONCURRENCY }, worker));
    this.#log.info({ values: backlog.length, republished: missing }, "events caught up with the KV");
  }

  async #publish(event: SandboxEvent): Promise<void> {
    const ack = await this.js.publish(subjects.sandboxEvents(event.sandboxId), encodeEvent(event), { headers: eventHeaders(event), timeout: 5_000 });
    if (!ack.duplicate) {
      this.#republished++;
      this.#log.warn({ sandboxId: event.sandboxId, revision: event.revision, state: event.to }, "re-published the event of a write whose own event never reached the stream");
    }
  }

  /** Re-publishes every pending write whose grace has passed; forgets old unmatched arrivals. */
  async #flushDue(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      await this.#flushDueNow();
    } finally {
      this.#flushing = false;
    }
  }

  async #flushDueNow(): Promise<void> {
    const now = Date.now();
    for (const [id, at] of this.#seen) if (at < now - SEEN_TTL_MS) this.#seen.delete(id);
    const due = [...this.#pending].filter(([, p]) => p.dueAt <= now);
    for (const [id, p] of due) {
      if (this.#stopped) return;
      try {
        await this.#publish(p.event);
        this.#pending.delete(id);
      } catch (err) {
        // Kept: the next tick tries again (the stream may have no leader right now).
        this.#log.warn({ err, sandboxId: p.event.sandboxId, revision: p.event.revision }, "re-publish failed; retrying");
        return;
      }
    }
  }

  /** After a reconnect both watchers start again and the catch-up runs again, until one succeeds. */
  async #followReconnects(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (this.#stopped) return;
      if (s.type === "reconnect") await this.#refollow();
    }
  }

  /** Starts both watchers again with a catch-up, retrying until it succeeds; one at a time. */
  async #refollow(): Promise<void> {
    if (this.#refollowing) return;
    this.#refollowing = true;
    try {
      for (;;) {
        try {
          await this.#follow();
          return;
        } catch (err) {
          if (this.#stopped || this.nc.isClosed()) return;
          this.#log.warn({ err, bucket: SANDBOX_BUCKET }, "re-publisher catch-up failed; retrying");
          await new Promise((r) => setTimeout(r, 500));
        }
      }
    } finally {
      this.#refollowing = false;
    }
  }
}
