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
 * Sent to the writer for every record the machine decides. The writer must
 * apply writes in the order received (it is the sandbox's single writer, so it
 * compares-and-swaps against the revision it wrote last, not the `revision`
 * inside `record`, which is stale while earlier writes are in flight).
 */
export interface WriteRequest {
  type: "write";
  /** The record to store, as decided (its `revision` is the last acknowledged one). */
  record: StoredSandbox;
  /** What caused the write (the event's `event`). */
  event: WriteEventName;
  /** State of the previous record sent to the writer (the event's `from`). */
  from: SandboxState;
  /** The sandbox actor: send it `persisted` or `persist.failed`. */
  replyTo: AnyActorRef;
}

/** Writer -> machine: the write succeeded; `record` is as stored, with its new revision. */
export interface PersistedEvent {
  type: "persisted";
  record: StoredSandbox;
}
/** Writer -> machine: the write failed (CAS lost after retries, store unavailable). */
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

/** The machine's context. */
export interface SandboxContext {
  /** The latest decided record (may be ahead of the store while writes are in flight). */
  record: StoredSandbox;
  /** The last record the writer acknowledged: the only one a reply may carry. */
  persisted: StoredSandbox;
  /** Writes sent and not yet acknowledged. */
  pending: number;
  /** A KILL that arrived during a transition; applied when the transition settles. */
  killRequested: KillRequestReason | null;
  /** Set after a failed pause; the `after` retry runs only while it is set. */
  pauseRetry: PauseRetry | null;
  /** Activity changed `record` in memory since the last write. */
  dirty: boolean;
  /** The last `persist.failed` error (the host decides what to do: re-read, reconcile). */
  persistError: unknown;
  /** State of the last record sent to the writer: the `from` of the next write. */
  writtenState: SandboxState;
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
  /**
   * The record the machine's `onDone` would decide, computed by the host
   * with the machine's own rule (`DRIVER_OUTCOMES`) on the machine's context
   * at the moment the engine call completed, and already sent to the writer
   * (so that the write leaves before the machine's transition runs). The
   * machine then takes that very object as its record and persists it; the
   * writer recognises the request by identity and answers it with the write
   * already under way. Absent: the machine decides itself.
   */
  decided?: StoredSandbox;
}
/** Input of `resumeSandbox`. */
export interface ResumeSandboxInput {
  record: StoredSandbox;
}
/** Output of `resumeSandbox` (a resumed container may get a new address). */
export interface ResumeSandboxOutput {
  endpoint: Endpoint;
  /** As {@link PauseSandboxOutput.decided}. */
  decided?: StoredSandbox;
}
/** Input of `removeSandbox`: wait `delayMs` (backoff of earlier failures), then remove. */
export interface RemoveSandboxInput {
  record: StoredSandbox;
  delayMs: number;
}
