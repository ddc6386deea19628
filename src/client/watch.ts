/**
 * Streams sandbox events: live from now, or replaying recent history from the
 * CORRAL_EVENTS stream first and then continuing live (one JetStream ordered
 * consumer, so nothing is missed or duplicated at the switch-over).
 */
import { DeliverPolicy, jetstream } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { decodeEvent, type SandboxEvent } from "../events.js";
import type { SandboxId } from "../ids.js";
import { EVENTS_STREAM, subjects } from "../subjects.js";

export interface WatchOptions {
  /** Only this sandbox's events. */
  sandboxId?: string | undefined;
  /** Replay events from this many ms ago before going live; omit for live only. */
  sinceMs?: number | undefined;
  /** Ends the iteration. */
  signal?: AbortSignal | undefined;
}

export async function* watchEvents(nc: NatsConnection, options: WatchOptions = {}): AsyncGenerator<SandboxEvent> {
  const filter = options.sandboxId ? subjects.sandboxEvents(options.sandboxId as SandboxId) : subjects.allSandboxEvents;
  const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, {
    filter_subjects: [filter],
    ...(options.sinceMs === undefined
      ? { deliver_policy: DeliverPolicy.New }
      : { deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(Date.now() - options.sinceMs).toISOString() }),
  });
  const messages = await consumer.consume();
  const stop = () => void messages.stop();
  if (options.signal?.aborted) return stop();
  options.signal?.addEventListener("abort", stop, { once: true });
  try {
    for await (const msg of messages) {
      let event: SandboxEvent;
      try {
        event = decodeEvent(msg.data);
      } catch {
        continue; // a foreign message on the subject: skip it
      }
      yield event;
    }
  } finally {
    options.signal?.removeEventListener("abort", stop);
    stop();
  }
}
