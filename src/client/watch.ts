/**
 * Streams sandbox events: live from now (a core subscription), or replaying
 * recent history from the CORRAL_EVENTS stream first and then continuing
 * live (one JetStream ordered consumer, so nothing is missed or duplicated
 * at the switch-over; that needs JetStream access, which `client` and
 * tenant credentials do not have).
 */
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { UnavailableError } from "../errors.js";
import { decodeEvent, type SandboxEvent } from "../events.js";
import type { SandboxId } from "../ids.js";
import { toPublicRecord, type SandboxRecord } from "../schema/record.js";
import { EVENTS_STREAM, subjects } from "../subjects.js";

/** Options of {@link watchEvents}. */
export interface WatchOptions {
  /** Only this sandbox's events. @default every sandbox */
  sandboxId?: string | undefined;
  /** Replay events from this many ms ago before going live. @default live only */
  sinceMs?: number | undefined;
  /** Ends the iteration. */
  signal?: AbortSignal | undefined;
}

/** An event as clients see it: the record without Corral's internal fields. */
export type WatchedEvent = Omit<SandboxEvent, "record"> & { record: SandboxRecord };

/** A message's event as clients see it, or null for a foreign message on the subject. */
function watched(data: Uint8Array): WatchedEvent | null {
  let event: SandboxEvent;
  try {
    event = decodeEvent(data);
  } catch {
    return null;
  }
  // A tenant's events carry the public record already.
  return { ...event, record: "internal" in event.record ? toPublicRecord(event.record) : event.record };
}

/**
 * Live events only: a core subscription, which needs no JetStream access
 * (a `client` credential has none, and a tenant's account no stream).
 */
async function* liveEvents(nc: NatsConnection, filter: string, signal: AbortSignal | undefined): AsyncGenerator<WatchedEvent> {
  const sub = nc.subscribe(filter);
  const stop = () => sub.unsubscribe();
  if (signal?.aborted) return stop();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const msg of sub) {
      const event = watched(msg.data);
      if (event) yield event;
    }
  } finally {
    signal?.removeEventListener("abort", stop);
    stop();
  }
}

/** Yields every transition (record write) matching `options` until `signal` aborts. */
export async function* watchEvents(nc: NatsConnection, options: WatchOptions = {}): AsyncGenerator<WatchedEvent> {
  const filter = options.sandboxId ? subjects.sandboxEvents(options.sandboxId as SandboxId) : subjects.allSandboxEvents;
  if (options.sinceMs === undefined) return yield* liveEvents(nc, filter, options.signal);
  const consumer = await jetstream(nc)
    .consumers.get(EVENTS_STREAM, {
    // A single subject (a string, not an array): nats-server 2.9 has no multi-filter consumers.
    filter_subjects: filter,
    ...(options.sinceMs === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Date.now() - options.sinceMs).toISOString() }),
    })
    .catch((err: unknown) => {
      throw new UnavailableError(`cannot watch the ${EVENTS_STREAM} stream (has a Corral node ever run on this NATS?): ${(err as Error).message}`, { cause: err });
    });
  const messages = await consumer.consume();
  const stop = () => void messages.stop();
  if (options.signal?.aborted) return stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const msg of messages) {
      const event = watched(msg.data);
      if (event) yield event;
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    stop();
  }
}
