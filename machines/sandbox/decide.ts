/**
 * The record each transition of the sandbox machine writes, as pure
 * functions of (record, driver result, now). The machine only sequences
 * them; every field rule lives here and in src/lifecycle/deadline.ts.
 *
 * `record.error` keeps the last driver failure and is cleared by the next
 * success (started, paused, resumed, killed): a record never shows an error
 * that a later success made stale. Only `start_failed` keeps its error in the
 * killed record, because there it is the reason the sandbox died.
 * `internal.attempts` counts consecutive failures of the current operation:
 * reset when a new operation is requested and on success, incremented on
 * failure, kept across automatic retries (so the backoff grows).
 */
import { clearDeadline, startDeadline, type DeadlineLimits } from "../../src/lifecycle/deadline.js";
import type { Endpoint, KillReason, SandboxState, StoredSandbox } from "../../src/schema/record.js";
import type { KillRequestReason, PauseSandboxOutput, ResumeSandboxOutput, StartSandboxOutput, WriteEventName } from "./types.js";

/** The message of anything a driver actor rejected with. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
}

function withInternal(record: StoredSandbox, internal: Partial<StoredSandbox["internal"]>): StoredSandbox["internal"] {
  return { ...record.internal, ...internal };
}

/** The write event of a kill: `kill` for an API request, else the reason itself. */
export function killEventName(reason: KillReason): WriteEventName {
  return reason === "request" ? "kill" : reason;
}

/** starting -> running: `startedAt = now`, `endAt` from the deadline rules. */
export function toStarted(record: StoredSandbox, output: StartSandboxOutput, now: number, limits: DeadlineLimits): StoredSandbox {
  const started = startDeadline({ ...record, state: "running" as const }, now, limits);
  return { ...started, error: null, internal: withInternal(record, { handle: output.handle, endpoint: output.endpoint, attempts: 0 }) };
}

/**
 * starting -> killed: `start_failed`, the driver's error kept. The driver's
 * startSandbox must remove whatever it created before it rejects (there is no
 * `killing` step after a failed start).
 */
export function toStartFailed(record: StoredSandbox, error: unknown, now: number): StoredSandbox {
  return {
    ...clearDeadline(record),
    state: "killed",
    killReason: "start_failed",
    error: { op: "start", message: errorMessage(error), at: now },
    internal: withInternal(record, { endpoint: null, killedAt: now }),
  };
}

/** running -> pausing. `retry` keeps the attempt count so the backoff grows. */
export function toPausing(record: StoredSandbox, retry: boolean): StoredSandbox {
  return { ...record, state: "pausing", internal: retry ? record.internal : withInternal(record, { attempts: 0 }) };
}

/**
 * pausing -> paused: the deadline stops (`endAt` null); `timeoutMs` is kept
 * for the resume. A pause that gave the address back (`endpointKept: false`)
 * drops the endpoint: nothing may be sent there until the resume says where
 * the sandbox is.
 */
export function toPaused(record: StoredSandbox, output?: PauseSandboxOutput): StoredSandbox {
  const endpoint = output?.endpointKept === false ? { endpoint: null } : {};
  return { ...clearDeadline(record), state: "paused", error: null, internal: withInternal(record, { attempts: 0, ...endpoint }) };
}

/** pausing -> running: the error recorded, `endAt` unchanged, one more attempt counted. */
export function toPauseFailed(record: StoredSandbox, error: unknown, now: number): StoredSandbox {
  return {
    ...record,
    state: "running",
    error: { op: "pause", message: errorMessage(error), at: now },
    internal: withInternal(record, { attempts: record.internal.attempts + 1 }),
  };
}

/** paused -> resuming. A given `timeoutMs` replaces the stored one (it applies when running). */
export function toResuming(record: StoredSandbox, timeoutMs: number | undefined): StoredSandbox {
  return { ...record, state: "resuming", timeoutMs: timeoutMs ?? record.timeoutMs, internal: withInternal(record, { attempts: 0 }) };
}

/** resuming -> running: `startedAt = now`, new `endAt` (the ceiling restarts). */
export function toResumed(record: StoredSandbox, endpoint: Endpoint, now: number, limits: DeadlineLimits): StoredSandbox {
  const resumed = startDeadline({ ...record, state: "running" as const }, now, limits);
  return { ...resumed, error: null, internal: withInternal(record, { endpoint, attempts: 0 }) };
}

/** resuming -> paused: the error recorded; no automatic retry (the next RESUME tries again). */
export function toResumeFailed(record: StoredSandbox, error: unknown, now: number): StoredSandbox {
  return {
    ...clearDeadline(record),
    state: "paused",
    error: { op: "resume", message: errorMessage(error), at: now },
    internal: withInternal(record, { attempts: record.internal.attempts + 1 }),
  };
}

/**
 * -> killing: the reason is recorded at once (the `kill` event already says
 * why), and `endAt` becomes null: no deadline applies to a sandbox that is
 * going away, so no timer can fire on it again.
 */
export function toKilling(record: StoredSandbox, reason: KillRequestReason): StoredSandbox {
  return { ...clearDeadline(record), state: "killing", killReason: reason, internal: withInternal(record, { attempts: 0 }) };
}

/** killing -> killing: removal failed; the error recorded, one more attempt (backoff) counted. */
export function toRemoveFailed(record: StoredSandbox, error: unknown, now: number): StoredSandbox {
  return {
    ...record,
    error: { op: "remove", message: errorMessage(error), at: now },
    internal: withInternal(record, { attempts: record.internal.attempts + 1 }),
  };
}

/**
 * killing -> killed: `killedAt = now` (the tombstone's clock), `endAt` stays
 * null, the endpoint is dropped (nothing to route to); the handle is kept so
 * an operator can still find what was removed.
 */
export function toKilled(record: StoredSandbox, now: number): StoredSandbox {
  return { ...record, state: "killed", endAt: null, error: null, internal: withInternal(record, { endpoint: null, killedAt: now, attempts: 0 }) };
}

/**
 * any live state -> killed: the container is gone or its main process exited
 * (`container_exited`); there is nothing left to remove, so the record goes
 * straight to `killed` (the contract's row).
 */
export function toContainerExited(record: StoredSandbox, now: number): StoredSandbox {
  return toKilled(toKilling(record, "container_exited"), now);
}

/** What a transient state's driver call leads to: the record, its write's event, and the state it moves to. */
export interface DriverOutcome<TResult> {
  /** The state the machine enters once this outcome's write is acknowledged. */
  to: SandboxState;
  /** The write's event name. */
  event: WriteEventName;
  /** The record, from the persisted record the call started from, the call's result (output or error) and `now`. */
  decide: (record: StoredSandbox, result: TResult, now: number, limits: DeadlineLimits) => StoredSandbox;
}

/** The two outcomes of one transient state's driver call. */
export interface TransientOutcomes<TOutput> {
  done: DriverOutcome<TOutput>;
  failed: DriverOutcome<unknown>;
}

/**
 * The contract's "driver ..." rows as data: for each transient state, what
 * its driver call's success and failure decide. The machine's transient
 * states are built from this table (machine.ts), and reconciliation settles
 * an interrupted operation with the very same rules (actors/node/reconcile.ts).
 */
export const DRIVER_OUTCOMES: {
  starting: TransientOutcomes<StartSandboxOutput>;
  pausing: TransientOutcomes<PauseSandboxOutput | undefined>;
  resuming: TransientOutcomes<ResumeSandboxOutput>;
  killing: TransientOutcomes<unknown>;
} = {
  starting: {
    done: { to: "running", event: "started", decide: (record, output, now, limits) => toStarted(record, output, now, limits) },
    failed: { to: "killed", event: "start_failed", decide: (record, error, now) => toStartFailed(record, error, now) },
  },
  pausing: {
    done: { to: "paused", event: "paused", decide: (record, output) => toPaused(record, output) },
    failed: { to: "running", event: "pause_failed", decide: (record, error, now) => toPauseFailed(record, error, now) },
  },
  resuming: {
    done: { to: "running", event: "resumed", decide: (record, output, now, limits) => toResumed(record, output.endpoint, now, limits) },
    failed: { to: "paused", event: "resume_failed", decide: (record, error, now) => toResumeFailed(record, error, now) },
  },
  killing: {
    done: { to: "killed", event: "killed", decide: (record, _output, now) => toKilled(record, now) },
    failed: { to: "killing", event: "remove_failed", decide: (record, error, now) => toRemoveFailed(record, error, now) },
  },
};
