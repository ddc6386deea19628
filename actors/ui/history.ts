/**
 * A sandbox's history: its events replayed from the CORRAL_EVENTS stream, in
 * stream order (= revision order: the store publishes in ack order), each with
 * its public record. The stream is bounded by age and size, so history starts
 * at the oldest event the stream still holds.
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { decodeEvent } from "../../src/events.js";
import type { SandboxId } from "../../src/ids.js";
import { toPublicRecord } from "../../src/schema/record.js";
import { EVENTS_STREAM, subjects } from "../../src/subjects.js";
import type { History, WireEvent } from "./wire.js";

/** Options of {@link readHistory}. */
export interface HistoryOptions {
  /** Newest events kept; older ones are counted in `omitted`. @default 2000 */
  maxEvents?: number;
  /** Bound on the whole read. @default 10000 */
  timeoutMs?: number;
}

/** Reads every event of `sandboxId` the stream holds (oldest first), keeping the newest `maxEvents`. */
export async function readHistory(nc: NatsConnection, sandboxId: SandboxId, options: HistoryOptions = {}): Promise<History> {
  const maxEvents = options.maxEvents ?? 2000;
  const subject = subjects.sandboxEvents(sandboxId);
  // Count first: an ordered consumer on a subject with no messages would only end by timing out.
  const info = await (await jetstreamManager(nc)).streams.info(EVENTS_STREAM, { subjects_filter: subject });
  const count = info.state.subjects?.[subject] ?? 0;
  const events: WireEvent[] = [];
  if (count > 0) {
    // A string, not an array: an array of filters needs nats-server 2.10 (this environment runs 2.9).
    const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, { filter_subjects: subject, deliver_policy: DeliverPolicy.All });
    const messages = await consumer.fetch({ max_messages: count, expires: options.timeoutMs ?? 10_000 });
    for await (const msg of messages) {
      try {
        const { record, ...event } = decodeEvent(msg.data);
        events.push({ ...event, record: toPublicRecord(record) });
      } catch {
        // A foreign message on the subject: not an event, not history.
      }
      if (events.length > maxEvents) events.shift();
      if (msg.info.pending === 0) break;
    }
  }
  events.sort((a, b) => a.revision - b.revision);
  return { sandboxId, events, omitted: Math.max(0, count - events.length) };
}
