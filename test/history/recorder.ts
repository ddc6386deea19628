/**
 * Records a history (./types.ts): every request/reply of the run's clients
 * with wall times (`Recorder.call`), and, once the run is over and every
 * write's event has reached the stream, the whole CORRAL_EVENTS stream
 * (`readEventStream`).
 */
import { DeliverPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { clientKey, type CorralClient } from "../../src/client/client.js";
import { CorralError } from "../../src/errors.js";
import { decodeEvent, type SandboxEvent } from "../../src/events.js";
import type { SandboxStore } from "../../src/store/index.js";
import { EVENTS_STREAM, subjects, type ApiOp } from "../../src/subjects.js";
import type { OpRecord } from "./types.js";

/** Collects the operations of every client of a run. */
export class Recorder {
  readonly ops: OpRecord[] = [];

  /**
   * Sends `op` with `args` through `client` and records it. Resolves with the
   * reply, or with undefined after an error reply (recorded with its code); an
   * error that is not a CorralError is a bug of the run and is thrown.
   */
  async call(clientNo: number, client: CorralClient, op: ApiOp, args: Record<string, unknown>): Promise<unknown> {
    try {
      return await this.record(clientNo, op, args, (sent) => client.request<unknown>(op, sent));
    } catch (err) {
      if (err instanceof CorralError) return undefined;
      throw err;
    }
  }

  /**
   * Records one request made by `send` (given the args as they go on the
   * wire: a keyless create gets the key the client would give it, see
   * CorralClient.create) and passes its reply or error through.
   */
  async record<T>(clientNo: number, op: ApiOp, given: Record<string, unknown>, send: (args: Record<string, unknown>) => Promise<T>): Promise<T> {
    const args = op === "create" && given.key === undefined ? { ...given, key: clientKey() } : given;
    const startMs = Date.now();
    try {
      const reply = await send(args);
      this.ops.push({ client: clientNo, op, args, startMs, endMs: Date.now(), reply });
      return reply;
    } catch (err) {
      if (err instanceof CorralError) this.ops.push({ client: clientNo, op, args, startMs, endMs: Date.now(), errorCode: err.code });
      throw err;
    }
  }

  /** How many operations ended with each error code (`ok` for successes). */
  outcomes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const o of this.ops) out[o.errorCode ?? "ok"] = (out[o.errorCode ?? "ok"] ?? 0) + 1;
    return out;
  }
}

/**
 * Sandboxes whose latest KV revision has no event in CORRAL_EVENTS yet
 * (`[]` once events have caught up with writes: what a run waits for before
 * it reads the stream).
 */
export async function eventsBehindWrites(nc: NatsConnection, store: SandboxStore): Promise<string[]> {
  const jsm = await jetstreamManager(nc);
  const behind: string[] = [];
  for await (const record of store.scan()) {
    const sm = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subjects.sandboxEvents(record.sandboxId) });
    if (sm === null || decodeEvent(sm.data).revision < record.revision) behind.push(`${record.sandboxId}@${record.revision}`);
  }
  return behind;
}

/** Every sandbox event in CORRAL_EVENTS, in stream order. */
export async function readEventStream(nc: NatsConnection): Promise<SandboxEvent[]> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(EVENTS_STREAM);
  if (info.state.messages === 0) return [];
  const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, { filter_subjects: subjects.allSandboxEvents, deliver_policy: DeliverPolicy.All });
  const messages = await consumer.consume();
  const events: SandboxEvent[] = [];
  try {
    for await (const msg of messages) {
      events.push(decodeEvent(msg.data));
      if (msg.seq >= info.state.last_seq || msg.info.pending === 0) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
  return events;
}
