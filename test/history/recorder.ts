/**
 * Records a history (./types.ts): every request/reply of the run's clients
 * with wall times (`Recorder.call`), and, once the run is over and every
 * write's event has reached the stream, the whole CORRAL_EVENTS stream
 * (`readEventStream`).
 */
import { jetstreamManager } from "@nats-io/jetstream";
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

/** `corral.v1.events.sandbox.` (the stream also holds other events). */
const SANDBOX_EVENT_PREFIX = subjects.allSandboxEvents.slice(0, -1);

/** How long one stream read may keep failing (a leader election, a reconnect) before the read gives up. */
const READ_RETRY_MS = 30_000;

/** `read`, retried while the stream answers errors (no leader, reconnecting), for at most `READ_RETRY_MS`. */
async function withRetry<T>(what: string, read: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + READ_RETRY_MS;
  for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
    try {
      return await read();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${READ_RETRY_MS} ms: ${String(err)}`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

/**
 * Every sandbox event in CORRAL_EVENTS up to the stream's last sequence when
 * the read starts, in stream order. Read message by message by sequence
 * (`STREAM.MSG.GET`, answered by the stream's leader), each read retried
 * across a leader change or reconnect, so the result is complete by
 * construction: every sequence from the first to the last is either read or
 * counted as deleted by the stream, else the read throws. (A consumer's
 * `pending` count is not used: one once read 0 at a leader's SIGKILL and the
 * history ended there.)
 */
export async function readEventStream(nc: NatsConnection): Promise<SandboxEvent[]> {
  const jsm = await jetstreamManager(nc);
  const { state } = await withRetry(`${EVENTS_STREAM} info`, () => jsm.streams.info(EVENTS_STREAM));
  const events: SandboxEvent[] = [];
  if (state.messages === 0) return events;
  let missing = 0;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const sm = await withRetry(`${EVENTS_STREAM} seq ${seq}`, () => jsm.streams.getMessage(EVENTS_STREAM, { seq }));
    if (sm === null) {
      missing++;
      continue;
    }
    if (sm.subject.startsWith(SANDBOX_EVENT_PREFIX)) events.push(decodeEvent(sm.data));
  }
  if (missing > (state.num_deleted ?? 0)) {
    throw new Error(`${EVENTS_STREAM}: ${missing} of sequences ${state.first_seq}..${state.last_seq} unreadable, the stream reported ${state.num_deleted ?? 0} deleted`);
  }
  return events;
}
