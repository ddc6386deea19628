/**
 * A recorded history (issue 14, item 6): every request and reply of the
 * clients of a run, with wall times, and every event of the CORRAL_EVENTS
 * stream. The checker (./checker.ts) reads nothing else.
 */
import type { SandboxEvent } from "../../src/events.js";
import type { ApiOp } from "../../src/subjects.js";

/** One API call as a client saw it. */
export interface OpRecord {
  /** Which concurrent client made it. */
  client: number;
  op: ApiOp;
  /** The request body as sent. */
  args: Record<string, unknown>;
  /** ms since epoch when the request was sent / the reply (or error) arrived. */
  startMs: number;
  endMs: number;
  /** The success reply (a record, `{resumed, sandbox}`, or `{items, nextCursor}`); absent on error. */
  reply?: unknown;
  /** The contract error code of an error reply (`unavailable`, `gone`, ...); absent on success. */
  errorCode?: string;
}

/** What a run recorded. */
export interface History {
  ops: OpRecord[];
  /** Every message of CORRAL_EVENTS about sandboxes, in stream order. */
  events: SandboxEvent[];
  /** The server's `maxLifetimeMs` (the ceiling of every deadline). */
  maxLifetimeMs: number;
}

/** Kinds of anomaly the checker reports. */
export type AnomalyKind =
  | "revision_order" // a writer's events of one sandbox reached the stream with a revision not above the one before
  | "two_records_one_revision" // two different records in the history at one revision
  | "not_a_lifecycle_row" // a write whose state change is no row of the lifecycle table
  | "missing_write" // an event's `from` is not the state of the sandbox's previous event: a write has no event
  | "reply_not_in_history" // a success reply carries a record the history does not hold at that revision
  | "reply_wrong_state" // a success reply's state is not what the operation answers with
  | "stale_reply" // a success reply carries an older revision than a reply that ended before its request started
  | "killed_came_back" // a record of a killed incarnation that is not killed, or a new incarnation not made by create-with-key
  | "end_at_mismatch" // a set_timeout/refresh reply's endAt is not what the request persisted
  | "internal_error" // an `internal` error reply (the contract reserves it for bugs)
  | "ghost_create" // a sandbox (incarnation) created at a time no create with its key was in flight: its caller had given up
  | "late_deadline_move"; // a set_timeout/refresh write whose deadline was computed when no such request on the sandbox was in flight

/** One violation, with enough detail to find it in the history. */
export interface Anomaly {
  kind: AnomalyKind;
  sandboxId: string;
  detail: string;
}
