/**
 * A proxy replica's view of every sandbox (DESIGN.md, "Subject-based
 * broadcasts converge every replica"). Loaded from the KV at start, kept
 * current by the transition broadcasts (a plain subscription, no queue group:
 * every replica sees every event), applying a record only if its revision is
 * newer than the one held. A miss asks the KV before anyone answers 404, and
 * a reconnect resyncs from the KV (events published while disconnected are
 * lost for core subscribers).
 *
 * The hot path only calls `get` (one Map lookup). Waiters let the gate await
 * the next state of a sandbox without polling.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { isNewer, revealsGap, subscribeEvents, type SandboxEvent } from "../../src/events.js";
import type { SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";

/** What the table reads from the KV (`SandboxStore` satisfies it). */
export interface RouteSource {
  /** The latest record, or null when the KV has none. */
  get(id: SandboxId): Promise<StoredSandbox | null>;
  /** Every record in the KV. */
  scan(): AsyncIterable<StoredSandbox>;
}

/** Options of a route table. */
export interface RouteTableOptions {
  /** Killed records are dropped from memory this long after `killedAt` (the KV deletes tombstones itself). */
  tombstoneMs: number;
}

type Waiter = { minRevisionExclusive: number; resolve: (r: StoredSandbox | undefined) => void; timer: NodeJS.Timeout };

const SWEEP_INTERVAL_MS = 60_000;

/** The per-replica view of sandbox records. */
export class RouteTable {
  readonly #records = new Map<SandboxId, StoredSandbox>();
  readonly #waiters = new Map<SandboxId, Set<Waiter>>();
  /** Single-flight KV reads per sandbox: a burst of misses costs one read. */
  readonly #reads = new Map<SandboxId, Promise<StoredSandbox | undefined>>();
  #sub: Subscription | undefined;
  #sweep: NodeJS.Timeout | undefined;
  #loaded = false;
  #connected = true;
  #closed = false;
  /** Ids written during a resync (scan or event): everything else held was deleted from the KV. */
  #resyncSeen: Set<SandboxId> | undefined;
  #resyncing: Promise<void> | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly source: RouteSource,
    private readonly log: Logger,
    private readonly options: RouteTableOptions,
  ) {}

  /** Loaded from the KV, subscribed, and connected: what `/healthz` reports. */
  get ready(): boolean {
    return this.#loaded && this.#connected && this.#sub !== undefined && !this.#closed;
  }

  /** Number of sandboxes held. */
  get size(): number {
    return this.#records.size;
  }

  /**
   * Subscribes first, then loads the KV: an event that lands during the scan
   * is applied either way, because both sides go through the revision check.
   */
  async start(): Promise<void> {
    this.#sub = subscribeEvents(
      this.nc,
      (event) => this.#onEvent(event),
      (err) => this.log.warn({ err }, "undecodable sandbox event skipped"),
    );
    // The server has registered the subscription once a flush round-trips.
    await this.nc.flush();
    await this.#resync();
    this.#loaded = true;
    void this.#watchStatus();
    this.#sweep = setInterval(() => this.#sweepTombstones(), SWEEP_INTERVAL_MS);
    this.#sweep.unref();
  }

  /** The held record (hot path: no I/O). */
  get(id: SandboxId): StoredSandbox | undefined {
    return this.#records.get(id);
  }

  /** The held record, else the KV's (so a replica that missed an event never answers 404 wrongly). */
  async lookup(id: SandboxId): Promise<StoredSandbox | undefined> {
    return this.#records.get(id) ?? this.refresh(id);
  }

  /** Reads the KV now and applies what it holds; returns the resulting view. */
  refresh(id: SandboxId): Promise<StoredSandbox | undefined> {
    let read = this.#reads.get(id);
    if (read === undefined) {
      read = this.source
        .get(id)
        .then((record) => {
          if (record !== null) this.apply(record);
          return this.#records.get(id);
        })
        .finally(() => this.#reads.delete(id));
      this.#reads.set(id, read);
    }
    return read;
  }

  /**
   * Applies a record if it is newer than the held one and wakes the waiters it
   * satisfies. Returns whether it was applied.
   */
  apply(record: StoredSandbox): boolean {
    const id = record.sandboxId;
    this.#resyncSeen?.add(id);
    const held = this.#records.get(id);
    if (!isNewer(record, held?.revision)) return false;
    this.#records.set(id, record);
    const waiters = this.#waiters.get(id);
    if (waiters !== undefined) {
      for (const w of waiters) {
        if (record.revision > w.minRevisionExclusive) this.#settle(id, w, record);
      }
    }
    return true;
  }

  /**
   * Resolves with the record once the view holds a revision greater than
   * `minRevisionExclusive`, or with whatever is held after `timeoutMs` or
   * when `signal` aborts.
   */
  waitForRevisionAbove(id: SandboxId, minRevisionExclusive: number, timeoutMs: number, signal?: AbortSignal): Promise<StoredSandbox | undefined> {
    const held = this.#records.get(id);
    if ((held !== undefined && held.revision > minRevisionExclusive) || timeoutMs <= 0 || this.#closed || signal?.aborted) return Promise.resolve(held);
    return new Promise((resolve) => {
      const settle = () => this.#settle(id, waiter, this.#records.get(id));
      const waiter: Waiter = {
        minRevisionExclusive,
        resolve: (record) => {
          signal?.removeEventListener("abort", settle);
          resolve(record);
        },
        timer: setTimeout(settle, timeoutMs),
      };
      signal?.addEventListener("abort", settle, { once: true });
      let set = this.#waiters.get(id);
      if (set === undefined) this.#waiters.set(id, (set = new Set()));
      set.add(waiter);
    });
  }

  /** Unsubscribes and releases every waiter with the held view. */
  close(): void {
    this.#closed = true;
    this.#sub?.unsubscribe();
    if (this.#sweep) clearInterval(this.#sweep);
    for (const [id, set] of this.#waiters) for (const w of set) this.#settle(id, w, this.#records.get(id));
  }

  #settle(id: SandboxId, waiter: Waiter, record: StoredSandbox | undefined): void {
    clearTimeout(waiter.timer);
    const set = this.#waiters.get(id);
    if (set !== undefined) {
      set.delete(waiter);
      if (set.size === 0) this.#waiters.delete(id);
    }
    waiter.resolve(record);
  }

  #onEvent(event: SandboxEvent): void {
    const record = event.record;
    // Events come from our own nodes, but a malformed one must not poison the hot path.
    if (typeof record !== "object" || record === null || record.sandboxId !== event.sandboxId || typeof record.internal !== "object") {
      this.log.warn({ sandboxId: event.sandboxId, revision: event.revision }, "sandbox event without a usable record skipped");
      return;
    }
    // A `from` that is not the held state means writes were missed (an event
    // lost, or not yet re-published): apply this one, then reload the key.
    const gap = revealsGap(event, this.#records.get(event.sandboxId));
    this.apply(record.revision === event.revision ? record : { ...record, revision: event.revision });
    if (gap) void this.refresh(event.sandboxId).catch((err: unknown) => this.log.warn({ err, sandboxId: event.sandboxId }, "reload after a revision gap failed"));
  }

  /**
   * Reloads every record. Held ids that neither the scan nor an event named
   * during it were deleted from the KV behind our back (tombstone expiry),
   * so they are dropped and the next request asks the KV (404).
   */
  #resync(): Promise<void> {
    this.#resyncing ??= (async () => {
      const seen = new Set<SandboxId>();
      this.#resyncSeen = seen;
      try {
        let count = 0;
        for await (const record of this.source.scan()) {
          this.apply(record);
          count++;
        }
        for (const id of this.#records.keys()) if (!seen.has(id)) this.#records.delete(id);
        this.log.info({ sandboxes: count }, "route table synced from the KV");
      } finally {
        this.#resyncSeen = undefined;
        this.#resyncing = undefined;
      }
    })();
    return this.#resyncing;
  }

  async #watchStatus(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (this.#closed) return;
      if (s.type === "disconnect") {
        this.#connected = false;
        this.log.warn("disconnected from NATS: unhealthy until resynced");
      } else if (s.type === "reconnect") {
        // Retry until a resync succeeds: until then the view may miss events, so /healthz stays 503.
        for (;;) {
          try {
            await this.#resync();
            this.#connected = true;
            break;
          } catch (err) {
            if (this.#closed || this.nc.isClosed()) return;
            this.log.warn({ err }, "resync after reconnect failed; retrying");
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      }
    }
  }

  #sweepTombstones(): void {
    const cutoff = Date.now() - this.options.tombstoneMs;
    for (const [id, r] of this.#records) {
      if (r.state === "killed" && r.internal.killedAt !== null && r.internal.killedAt < cutoff) this.#records.delete(id);
    }
  }
}
