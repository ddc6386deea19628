/**
 * The sandbox lifecycle machine (DESIGN.md, "Lifecycle"): exactly the
 * contract's seven states, no substates. Pure: driver operations and the
 * record writer are injected actors; every field rule is in ./decide.ts and
 * src/lifecycle/deadline.ts. See ./index.ts for how a host drives it.
 *
 * Write-ahead: the machine's state is always the state of its last
 * acknowledged record. A decision (a command, a driver call's outcome, a
 * deadline) sends one write and the machine waits, in the state it is in,
 * for its answer: `persisted` moves it to the decided state, `persist.failed`
 * leaves it where the record is. So every driver call starts only after its
 * intent (`pause`, `resume`, `kill`, ...) is stored, and every outcome is
 * stored before the machine leaves the transient state: intent CAS, engine
 * call, outcome CAS. At most one write is in flight.
 *
 * In-memory only: ACTIVITY (written by FLUSH) and bookkeeping
 * (`killRequested`, `pauseRetry`).
 */
import { assign, enqueueActions, fromPromise, setup, type EventObject } from "xstate";
import { backoffMs } from "../../src/lifecycle/backoff.js";
import { applyActivity, applyRefresh, applySetTimeout, isExpired } from "../../src/lifecycle/deadline.js";
import { InternalError } from "../../src/errors.js";
import type { SandboxState, StoredSandbox } from "../../src/schema/record.js";
import { DRIVER_OUTCOMES, killEventName, toKilling, toPausing, toResuming, type DriverOutcome } from "./decide.js";
import { initialContext } from "./context.js";
import { TRANSITIONS } from "./transitions.js";
import type {
  KillRequestReason,
  PauseRetry,
  PauseSandboxInput,
  PauseSandboxOutput,
  PendingWrite,
  PersistedEvent,
  PersistFailedEvent,
  RemoveSandboxInput,
  ResumeSandboxInput,
  ResumeSandboxOutput,
  SandboxContext,
  SandboxMachineEvent,
  SandboxMachineInput,
  StartSandboxInput,
  StartSandboxOutput,
  WriteEventName,
  WriteRequest,
} from "./types.js";

/** Placeholder of an injected driver actor: fails loudly if the host forgot to provide it. */
function notProvided<TOutput, TInput>(name: string) {
  return fromPromise<TOutput, TInput>(async () => {
    throw new InternalError(`sandbox machine: actor ${name} was not provided (use sandboxMachine.provide)`);
  });
}

/** The seven states, in contract order. */
export const MACHINE_STATES = ["starting", "running", "pausing", "paused", "resuming", "killing", "killed"] as const;

/** `record` with the activity seen since it was decided applied again (only a running record moves). */
function withActivity(record: StoredSandbox, context: SandboxContext): { record: StoredSandbox; dirty: boolean } {
  const at = context.activityAt;
  if (at === null || record.state !== "running" || (record.lastActiveAt !== null && record.lastActiveAt >= at)) return { record, dirty: false };
  return { record: applyActivity(record, at, context.limits), dirty: true };
}

/** Types, placeholder actors, guards and actions of the machine. */
const machineSetup = setup({
  types: {
    context: {} as SandboxContext,
    events: {} as SandboxMachineEvent,
    input: {} as SandboxMachineInput,
  },
  actors: {
    startSandbox: notProvided<StartSandboxOutput, StartSandboxInput>("startSandbox"),
    pauseSandbox: notProvided<PauseSandboxOutput | void, PauseSandboxInput>("pauseSandbox"),
    resumeSandbox: notProvided<ResumeSandboxOutput, ResumeSandboxInput>("resumeSandbox"),
    removeSandbox: notProvided<void, RemoveSandboxInput>("removeSandbox"),
  },
  guards: {
    /** No write in flight: the machine may decide. */
    idle: ({ context }) => context.writing === null,
    writing: ({ context }) => context.writing !== null,
    writingTo: ({ context }, params: { to: SandboxState }) => context.writing?.to === params.to,
    /** A write back into running while a pause retry is pending: re-enter, so the retry timer is armed again. */
    writingToRunningWithRetry: ({ context }) => context.writing?.to === "running" && context.pauseRetry !== null,
    killRequested: ({ context }) => context.killRequested !== null && context.writing === null,
    hasTtl: ({ context }) => context.record.expiration === "ttl" && context.writing === null,
    flushDue: ({ context }) => context.dirty && context.writing === null,
    /** Re-checked against the current record: a deadline extended since the timer was armed wins. */
    expiredToPause: ({ context }) =>
      context.writing === null &&
      isExpired(context.record, context.now()) &&
      context.record.lifecycle.onTimeout === "pause" &&
      context.pauseRetry === null,
    expiredToKill: ({ context }) =>
      context.writing === null && isExpired(context.record, context.now()) && context.record.lifecycle.onTimeout === "kill",
    /** A requested pause is always retried; a timeout pause only while the deadline is still past. */
    pauseRetryDue: ({ context }) =>
      context.writing === null &&
      (context.pauseRetry === "request" || (context.pauseRetry === "timeout" && isExpired(context.record, context.now()))),
  },
  delays: {
    pauseRetryDelay: ({ context }) => backoffMs(context.record.internal.attempts, context.backoff),
  },
  actions: {
    /** Sends the decided record to the writer; the machine moves when the answer comes. */
    write: enqueueActions(({ context, enqueue, self }, params: PendingWrite) => {
      const request: WriteRequest = { type: "write", record: params.record, event: params.event, from: context.persisted.state, replyTo: self };
      enqueue.sendTo(context.writer, request);
      enqueue.assign({ writing: params });
    }),
    /** The write landed: its record is the persisted one (activity seen meanwhile applied again). */
    commit: assign(({ context, event }) => {
      const stored = (event as PersistedEvent).record;
      const { record, dirty } = withActivity(stored, context);
      const pauseRetry = context.writing?.pauseRetry;
      return { persisted: stored, record, dirty, writing: null, pauseRetry: pauseRetry === undefined ? context.pauseRetry : pauseRetry };
    }),
    /** The write did not land: nothing moves; the host sees `failedWrites` grow. */
    abandonWrite: assign(({ context, event }) => ({
      writing: null,
      failedWrites: context.failedWrites + 1,
      persistError: (event as PersistFailedEvent).error,
    })),
    forgetKill: assign({ killRequested: null }),
    rememberKill: assign({
      // The first cause wins: a later KILL adds nothing.
      killRequested: ({ context, event }) => (event.type === "KILL" ? (context.killRequested ?? event.reason) : context.killRequested),
    }),
    applyActivity: assign(({ context, event }) => {
      // A proxy clock ahead of ours must not push the deadline into the future.
      const at = Math.min((event as { at: number }).at, context.now());
      return { record: applyActivity(context.record, at, context.limits), dirty: true, activityAt: Math.max(context.activityAt ?? at, at) };
    }),
  },
});

type Decide = (context: SandboxContext, event: EventObject) => StoredSandbox;

/** A field of the event that triggered a write (the transition's event type guarantees it). */
function field<T>(event: EventObject, name: string): T {
  return (event as unknown as Record<string, T>)[name] as T;
}

/** The `write` action deciding `record` for a move to `to` (`to` = the current state: not a transition). */
function write(
  to: SandboxState,
  event: WriteEventName | ((context: SandboxContext, event: EventObject) => WriteEventName),
  decide: Decide,
  pauseRetry?: PauseRetry | null,
) {
  return {
    type: "write" as const,
    params: ({ context, event: e }: { context: SandboxContext; event: EventObject }): PendingWrite => ({
      to,
      event: typeof event === "function" ? event(context, e) : event,
      record: decide(context, e),
      ...(pauseRetry === undefined ? {} : { pauseRetry }),
    }),
  };
}

/** The contract's words for the move `from` -> `to` (the table's row), for charts of the machine. */
function rowEvent(from: SandboxState, to: SandboxState): string {
  const row = TRANSITIONS.find((r) => r.from !== "any" && r.from.includes(from) && r.to === to);
  return row ? `${row.event} (stored)` : "write stored";
}

/** `persisted` in state `self`: move to the state the acknowledged write decided. */
function commitTo(self: SandboxState, targets: readonly SandboxState[]) {
  return [...new Set(targets)].map((to) => ({
    guard: { type: "writingTo" as const, params: { to } },
    target: to,
    reenter: to === self,
    actions: "commit" as const,
    description: rowEvent(self, to),
  }));
}

// Shared handlers of the stable live states (running, paused).

/** KILL: write `killing` now, or remember it while a write is in flight. */
const KILL = [
  {
    guard: "idle" as const,
    actions: write(
      "killing",
      (_c, e) => killEventName(field<KillRequestReason>(e, "reason")),
      (c, e) => toKilling(c.record, field<KillRequestReason>(e, "reason")),
      null,
    ),
  },
  { actions: "rememberKill" as const },
];

/** A KILL remembered during a transition or a write: applied as soon as the machine is idle in a live state. */
const REQUESTED_KILL = {
  guard: "killRequested" as const,
  actions: [
    write(
      "killing",
      (c) => killEventName(c.killRequested ?? "request"),
      (c) => toKilling(c.record, c.killRequested ?? "request"),
      null,
    ),
    "forgetKill" as const,
  ],
};

/** SET_TIMEOUT in `state` (paused: stores `timeoutMs` for the next resume; `endAt` stays null). */
const setTimeoutIn = (state: "running" | "paused") => ({
  guard: "hasTtl" as const,
  actions: write(state, "set_timeout", (c, e) => applySetTimeout(c.record, field<number>(e, "timeoutMs"), c.now(), c.limits)),
});

type Transient = "starting" | "pausing" | "resuming" | "killing";

/**
 * The write of a driver outcome, decided by the table's rule from the
 * persisted record. A success ends any pause retry; a failure keeps it (a
 * failed pause is retried with backoff).
 */
function outcomeWrite<T>(outcome: DriverOutcome<T>, result: (event: EventObject) => T, pauseRetry: null | undefined) {
  return write(outcome.to, outcome.event, (c, e) => outcome.decide(c.record, result(e), c.now(), c.limits), pauseRetry);
}

/**
 * A transient state, built from `DRIVER_OUTCOMES`: it invokes its driver call
 * (`invoke`; xstate names its events `xstate.done.actor.<id>`) on entry, when
 * the intent is stored, writes the outcome the table decides, and enters the
 * outcome's state once that write is acknowledged. A KILL meanwhile is
 * remembered (the contract: a kill during a transition waits for it).
 * `killing` re-enters itself after a failed removal, which restarts the call
 * with the grown backoff.
 */
function transientState<const I extends { id: string; src: "startSandbox" | "pauseSandbox" | "resumeSandbox" | "removeSandbox" }>(state: Transient, invoke: I) {
  const outcomes = DRIVER_OUTCOMES[state];
  return {
    invoke: {
      ...invoke,
      onDone: { actions: outcomeWrite(outcomes.done as DriverOutcome<unknown>, (e) => field<unknown>(e, "output"), null) },
      onError: { actions: outcomeWrite(outcomes.failed, (e) => field<unknown>(e, "error"), undefined) },
    },
    on: {
      KILL: { actions: "rememberKill" as const },
      persisted: commitTo(state, [outcomes.done.to, outcomes.failed.to]),
    },
  };
}

/** The input of every driver call but removal: the persisted record (the intent). */
const recordInput = ({ context }: { context: SandboxContext }) => ({ record: context.record });

/** The sandbox machine (placeholders for the driver actors; the host calls `.provide`). */
export const sandboxMachine = machineSetup.createMachine({
  id: "sandbox",
  initial: "starting",
  context: ({ input }) => initialContext(input),
  on: {
    "persist.failed": { guard: "writing", actions: "abandonWrite" },
  },
  states: {
    // The node stored the `starting` record (the intent) before the actor starts.
    starting: transientState("starting", { id: "start", src: "startSandbox", input: recordInput }),
    running: {
      always: REQUESTED_KILL,
      // xstate arms `after` on every entry, guard or not: with no failed pause, attempts = 0 gives a
      // 0 ms delay, so the timer fires at once and takes the no-op branch instead of lingering.
      after: {
        pauseRetryDelay: [
          { guard: "pauseRetryDue", actions: write("pausing", "pause", (c) => toPausing(c.record, true)) },
          // The retry is no longer due (deadline extended): forget it so the next TIMEOUT pauses again.
          { guard: "idle", actions: assign({ pauseRetry: null }) },
        ],
      },
      on: {
        PAUSE: { guard: "idle", actions: write("pausing", "pause", (c) => toPausing(c.record, false), "request") },
        TIMEOUT: [
          { guard: "expiredToPause", actions: write("pausing", "timeout", (c) => toPausing(c.record, false), "timeout") },
          { guard: "expiredToKill", actions: write("killing", "timeout", (c) => toKilling(c.record, "timeout"), null) },
        ],
        KILL,
        // Already running: a no-op (no write). The client's latest word is "running", so a pending pause retry is dropped.
        RESUME: { actions: assign({ pauseRetry: null }) },
        SET_TIMEOUT: setTimeoutIn("running"),
        REFRESH: {
          guard: "hasTtl",
          actions: write("running", "refresh", (c, e) => applyRefresh(c.record, field<number>(e, "durationMs"), c.now(), c.limits)),
        },
        ACTIVITY: { actions: "applyActivity" },
        FLUSH: { guard: "flushDue", actions: write("running", "activity", (c) => c.record) },
        persisted: [
          ...commitTo("running", ["pausing", "killing"]),
          { guard: "writingToRunningWithRetry", target: "running", reenter: true, actions: "commit" },
          { guard: { type: "writingTo", params: { to: "running" } }, actions: "commit" },
        ],
      },
    },
    pausing: transientState("pausing", { id: "pause", src: "pauseSandbox", input: recordInput }),
    paused: {
      always: REQUESTED_KILL,
      on: {
        RESUME: {
          guard: "idle",
          actions: write("resuming", "resume", (c, e) => toResuming(c.record, field<number | undefined>(e, "timeoutMs"))),
        },
        KILL,
        SET_TIMEOUT: setTimeoutIn("paused"),
        persisted: [...commitTo("paused", ["resuming", "killing"]), { guard: { type: "writingTo", params: { to: "paused" } }, actions: "commit" }],
      },
    },
    resuming: transientState("resuming", { id: "resume", src: "resumeSandbox", input: recordInput }),
    killing: transientState("killing", {
      id: "remove",
      src: "removeSandbox",
      input: ({ context }: { context: SandboxContext }) => ({
        record: context.record,
        delayMs: backoffMs(context.record.internal.attempts, context.backoff),
      }),
    }),
    killed: { type: "final" },
  },
});

/** The machine's type (what `.provide` returns too). */
export type SandboxMachine = typeof sandboxMachine;
