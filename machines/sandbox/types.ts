/**
 * Types of the sandbox machine: its input, context, events, and the writer
 * protocol (the messages the machine sends to the injected writer and the
 * answers it expects back).
 */
import type { AnyActorRef } from "xstate";
import type { BackoffOptions } from "../../src/lifecycle/backoff.js";
import type { DeadlineLimits } from "../../src/lifecycle/deadline.js";
import type { Endpoint, KillReason, SandboxState, StoredSandbox } from "../../src/schema/record.js";

/** Kill reasons a KILL event may carry (`start_failed` is decided by the machine itself). */
export type KillRequestReason = Exclude<KillReason, "start_failed">;

/**
 * The `event` name of each record write (it becomes the published event's
 * `event`). Transitions: `started` ... `node_lost`. Writes that are not
 * transitions (from == to): `set_timeout`, `refresh`, `activity`.
 */
export const WRITE_EVENTS = [
  "started",
  "start_failed",
  "pause",
  "paused",
  "pause_failed",
  "resume",
  "resumed",
  "resume_failed",
  "kill",
  "timeout",
  "container_exited",
  "orphaned",
  "node_lost",
  "remove_failed",
  "killed",
  "set_timeout",
  "refresh",
  "activity",
] as const;
/** One of {@link WRITE_EVENTS}. */
export type WriteEventName = (typeof WRITE_EVENTS)[number];

/**
 * Sent to the writer for every record the machine decides, one at a time:
 * the machine sends the next write only once this one is answered. The
 * writer compares-and-swaps against the revision it stored last.
 */
export interface WriteRequest {
  type: "write";
  /** The record to store, decided from the last acknowledged one (whose `revision` it carries). */
  record: StoredSandbox;
  /** What caused the write (the event's `event`). */
  event: WriteEventName;
  /** State of the persisted record it was decided from (the event's `from`). */
  from: SandboxState;
  /** The sandbox actor: send it `persisted` or `persist.failed`. */
  replyTo: AnyActorRef;
}

/** Writer -> machine: the write succeeded; `record` is as stored, with its new revision. */
export interface PersistedEvent {
  type: "persisted";
  record: StoredSandbox;
}
/** Writer -> machine: the write did not land (store unavailable, CAS lost after retries, ownership lost). */
export interface PersistFailedEvent {
  type: "persist.failed";
  error: unknown;
}

/** Events the machine accepts. Numbers are validated by the host before sending (src/lifecycle/deadline.ts). */
export type SandboxMachineEvent =
  | { type: "PAUSE" }
  /** `timeoutMs` replaces the stored timeout for this and later runs. */
  | { type: "RESUME"; timeoutMs?: number }
  | { type: "KILL"; reason: KillRequestReason }
  /** The node's timer saw `endAt` pass; re-checked against the current record. */
  | { type: "TIMEOUT" }
  | { type: "SET_TIMEOUT"; timeoutMs: number }
  | { type: "REFRESH"; durationMs: number }
  /** Proxy traffic at `at` (ms since epoch). In memory only until FLUSH. */
  | { type: "ACTIVITY"; at: number }
  /** Persist in-memory activity if any (the host sends it every `activityFlushMs`). */
  | { type: "FLUSH" }
  | PersistedEvent
  | PersistFailedEvent;

/** Input of the machine (and of {@link restoreSnapshot}). */
export interface SandboxMachineInput {
  /** The record as last written by the host (`starting` for a new sandbox). */
  record: StoredSandbox;
  /** Receives {@link WriteRequest}s; answers with `persisted` / `persist.failed`. */
  writer: AnyActorRef;
  /** Clock in ms since epoch. @default Date.now */
  now?: () => number;
  limits: DeadlineLimits;
  /** Retry backoff of pause and remove. @default { baseMs: 500, maxMs: 30000 } */
  backoff?: BackoffOptions;
}

/** Why a pause retry is pending: an API request (always retried) or a timeout (retried only while expired). */
export type PauseRetry = "request" | "timeout";

/**
 * A write the machine sent and waits for: the record it decided and the
 * state it moves to once the write is acknowledged (the same state for a
 * write that is not a transition).
 */
export interface PendingWrite {
  to: SandboxState;
  event: WriteEventName;
  record: StoredSandbox;
  /** The pause retry once this write lands; undefined keeps the current one. */
  pauseRetry?: PauseRetry | null;
}

/** The machine's context. */
export interface SandboxContext {
  /**
   * The persisted record plus in-memory activity (ACTIVITY, written by
   * FLUSH): what decisions and the host's deadline timer read.
   */
  record: StoredSandbox;
  /** The last record the writer acknowledged: the machine's state is always this record's state. */
  persisted: StoredSandbox;
  /** The write in flight (at most one), or null. The machine moves when it is acknowledged. */
  writing: PendingWrite | null;
  /** Writes that failed so far (a command compares it before and after to tell that its write failed). */
  failedWrites: number;
  /** A KILL that arrived while the machine could not act on it; applied once it can. */
  killRequested: KillRequestReason | null;
  /** Set after a failed pause; the `after` retry runs only while it is set. */
  pauseRetry: PauseRetry | null;
  /** `record` carries activity that `persisted` does not. */
  dirty: boolean;
  /** The latest activity seen (ms since epoch, capped at `now`), re-applied over an acknowledged record that predates it. */
  activityAt: number | null;
  /** The last `persist.failed` error. */
  persistError: unknown;
  writer: AnyActorRef;
  now: () => number;
  limits: DeadlineLimits;
  backoff: BackoffOptions;
}

/** Input of `startSandbox`. */
export interface StartSandboxInput {
  record: StoredSandbox;
}
/** Output of `startSandbox`: the driver handle and where the proxy reaches the sandbox. */
export interface StartSandboxOutput {
  handle: string;
  endpoint: Endpoint;
}
/** Input of `pauseSandbox`. */
export interface PauseSandboxInput {
  record: StoredSandbox;
}
/**
 * Output of `pauseSandbox`: whether the paused sandbox still holds its
 * address (a frozen one does; a stopped container gives it back, and the
 * engine may hand it to another container meanwhile). Undefined: it does.
 */
export interface PauseSandboxOutput {
  endpointKept: boolean;
}
/** Input of `resumeSandbox`. */
export interface ResumeSandboxInput {
  record: StoredSandbox;
}
/** Output of `resumeSandbox` (a resumed container may get a new address). */
export interface ResumeSandboxOutput {
  endpoint: Endpoint;
}
/** Input of `removeSandbox`: wait `delayMs` (backoff of earlier failures), then remove. */
export interface RemoveSandboxInput {
  record: StoredSandbox;
  delayMs: number;
}
