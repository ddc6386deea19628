/**
 * Where the client sends each attempt of a request (docs/operations.md,
 * "Retries"): the `corral-api` queue group, or one live service instance on
 * its own subject (`<subject>.<instanceId>`, ./instances.ts).
 *
 * - A first attempt goes to the queue group, except for a while after an
 *   attempt there got no reply in time: NATS hands a requester's messages to
 *   a queue member on its own server first, so while that member is hung
 *   every request of this connection would wait for it. For that while
 *   ({@link Routing} `avoidMs`, the client's bound), first attempts go to a
 *   live instance instead.
 * - A retry goes to a live instance that has not failed this request, so it
 *   never lands on the hung one; with none known it falls back to the queue
 *   group.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { LiveInstances } from "./instances.js";

/** Longest wait for the ping that finds live instances before an attempt. */
export const PING_MS = 1_000;

/** One of `items` at random (spreads retries over the live instances), or undefined. */
function pickOne<T>(items: readonly T[]): T | undefined {
  return items[Math.floor(Math.random() * items.length)];
}

/** The routing memory of one client (shared by its bounded views). */
export class Routing {
  readonly #live: LiveInstances;
  readonly #avoidMs: number;
  #avoidQueueUntil = 0;

  constructor(nc: NatsConnection, avoidMs: number) {
    this.#live = new LiveInstances(nc);
    this.#avoidMs = avoidMs;
  }

  /** True while first attempts avoid the queue group (after a timeout there). */
  get avoidingQueue(): boolean {
    return Date.now() < this.#avoidQueueUntil;
  }

  /** The target of a first attempt: null for the queue group, or an instance id. */
  async firstTarget(deadlineAt: number): Promise<string | null> {
    if (!this.avoidingQueue) return null;
    const live = await this.#live.get(Math.min(PING_MS, Math.floor((deadlineAt - Date.now()) / 4)));
    return pickOne(live)?.id ?? null;
  }

  /** An attempt to `target` (null: the queue group) got no reply: in time (`noResponders` false) or from nobody. */
  failed(target: string | null, noResponders: boolean): void {
    if (target !== null) this.#live.forget();
    else if (!noResponders) this.#avoidQueueUntil = Date.now() + this.#avoidMs;
  }

  /** The target of a retry: a live instance not in `failed` (asked afresh, within `waitMs`), else null (the queue group). */
  async retryTarget(failed: ReadonlySet<string>, waitMs: number): Promise<string | null> {
    const live = await this.#live.get(waitMs, true);
    return pickOne(live.filter((i) => !failed.has(i.id)))?.id ?? null;
  }
}
