/**
 * The writer's side of "events follow writes" (DESIGN.md, "Cluster"): each
 * event of an acknowledged write is published to `CORRAL_EVENTS` with a
 * JetStream acknowledgement, and kept until the stream has acknowledged it.
 * An event whose publish failed (the server went away, the stream had no
 * leader, the ack timed out) is sent again, in write order, until it is
 * stored; `Nats-Msg-Id: <sandboxId>:<revision>` makes a resend of an event
 * the stream did store a duplicate it drops.
 *
 * Why not a fire-and-forget publish plus the re-publisher alone: the
 * re-publisher (./event-republisher.ts) rebuilds events from the KV, which
 * keeps two values per key. When a server restart loses the events of three
 * writes of one sandbox, the oldest value is gone from the KV and its event
 * could never be rebuilt; the writer, which is alive, still has it. The
 * re-publisher remains for a writer that died before its event was stored.
 *
 * Bounded: at most `maxUnacked` events wait for a resend; beyond that the
 * oldest is dropped with an error log (the re-publisher still covers each
 * sandbox's latest values).
 */
import type { JetStreamClient } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { encodeEvent, eventHeaders, eventMsgId, publishTenantEvent, type SandboxEvent } from "../events.js";
import { logger, type Logger } from "../log.js";
import { subjects } from "../subjects.js";

/** Options of {@link EventOutbox}. */
export interface EventOutboxOptions {
  /** Delay between two resend rounds while events are unacknowledged. @default 500 */
  retryMs?: number;
  /** How long one publish waits for the stream's acknowledgement. @default 5000 */
  ackTimeoutMs?: number;
  /** Events kept for a resend at most. @default 10000 */
  maxUnacked?: number;
  log?: Logger;
}

/** Publishes write events with acknowledgement, resending the ones the stream did not take. */
export class EventOutbox {
  /** Events whose publish failed, by message id, oldest first. */
  readonly #unacked = new Map<string, SandboxEvent>();
  /** Publishes awaiting their acknowledgement. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #retryMs: number;
  readonly #ackTimeoutMs: number;
  readonly #maxUnacked: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #resending = false;
  #closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    opts: EventOutboxOptions = {},
  ) {
    this.#retryMs = opts.retryMs ?? 500;
    this.#ackTimeoutMs = opts.ackTimeoutMs ?? 5_000;
    this.#maxUnacked = opts.maxUnacked ?? 10_000;
    this.#log = opts.log ?? logger("events");
  }

  /** Events waiting for a resend (published, not acknowledged). */
  get unacked(): number {
    return this.#unacked.size;
  }

  /** Publishes `event` (and its tenant copy, which no stream keeps). Never throws: a failure is resent later. */
  send(event: SandboxEvent): void {
    publishTenantEvent(this.nc, event);
    // Behind an earlier event still waiting: keep write order, resend both.
    if (this.#unacked.size > 0) {
      this.#keep(event);
      return;
    }
    this.#track(event);
  }

  /** Waits (at most `timeoutMs`) for the publishes in flight and the resends to be acknowledged; stops resending. */
  async close(timeoutMs = 2_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.nc.isClosed() && (this.#inFlight.size > 0 || this.#unacked.size > 0) && Date.now() < until) {
      if (this.#inFlight.size > 0) await Promise.race([Promise.allSettled([...this.#inFlight]), delay(until - Date.now())]);
      else await this.#resend().then(() => (this.#unacked.size > 0 ? delay(Math.min(this.#retryMs, until - Date.now())) : undefined));
    }
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#unacked.size > 0) this.#log.warn({ events: this.#unacked.size }, "closing with unacknowledged events: the re-publishers take them from the KV");
  }

  #track(event: SandboxEvent): void {
    const p = this.#publish(event).then(
      () => undefined,
      (err: unknown) => {
        this.#keep(event);
        this.#log.warn({ err, sandboxId: event.sandboxId, revision: event.revision }, "event not acknowledged by the stream; resending");
      },
    );
    this.#inFlight.add(p);
    void p.finally(() => this.#inFlight.delete(p));
  }

  async #publish(event: SandboxEvent): Promise<void> {
    await this.js.publish(subjects.sandboxEvents(event.sandboxId), encodeEvent(event), { headers: eventHeaders(event), timeout: this.#ackTimeoutMs });
  }

  #keep(event: SandboxEvent): void {
    this.#unacked.set(eventMsgId(event), event);
    if (this.#unacked.size > this.#maxUnacked) {
      const [oldestId, oldest] = this.#unacked.entries().next().value as [string, SandboxEvent];
      this.#unacked.delete(oldestId);
      this.#log.error({ sandboxId: oldest.sandboxId, revision: oldest.revision, maxUnacked: this.#maxUnacked }, "event dropped: too many unacknowledged events");
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#closed || this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#resend().finally(() => {
        if (this.#unacked.size > 0) this.#arm();
      });
    }, this.#retryMs);
    this.#timer.unref?.();
  }

  /** Resends the kept events in order, stopping at the first that fails again. */
  async #resend(): Promise<void> {
    if (this.#resending || this.nc.isClosed()) return;
    this.#resending = true;
    try {
      for (const [id, event] of this.#unacked) {
        try {
          await this.#publish(event);
        } catch {
          return;
        }
        this.#unacked.delete(id);
      }
    } finally {
      this.#resending = false;
    }
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));
