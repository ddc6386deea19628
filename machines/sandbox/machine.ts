/**
 * The sandbox lifecycle machine (DESIGN.md, "Lifecycle"): exactly the
 * contract's seven states, no substates. Pure: driver operations and the
 * record writer are injected actors; every field rule is in ./decide.ts and
 * src/lifecycle/deadline.ts. See ./index.ts for how a host drives it.
 *
 * Every transition that changes the record persists it (one write per
 * transition, event named after its cause); in-memory-only changes are
 * ACTIVITY (flushed by FLUSH) and bookkeeping (killRequested, pauseRetry).
 */
import { assign, enqueueActions, fromPromise, setup } from "xstate";
import { backoffMs } from "../../src/lifecycle/backoff.js";
import { applyActivity, applyRefresh, applySetTimeout, isExpired } from "../../src/lifecycle/deadline.js";
import { InternalError } from "../../src/errors.js";
import {
  DRIVER_OUTCOMES,
  killEventName,
  toKilled,
  toKilling,
  toPauseFailed,
  toPausing,
  toRemoveFailed,
  toResumeFailed,
  toResuming,
  toStarted,
  toStartFailed,
} from "./decide.js";
import { initialContext } from "./context.js";
import type {
  PauseSandboxInput,
  PauseSandboxOutput,
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

/** The persist action's params: which write this is. */
type PersistParams = { event: WriteEventName };

/** The sandbox machine (placeholders for the driver actors; the host calls `.provide`). */
export const sandboxMachine = setup({
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
    killRequested: ({ context }) => context.killRequested !== null,
    hasTtl: ({ context }) => context.record.expiration === "ttl",
    dirty: ({ context }) => context.dirty,
    /** Re-checked against the current record: a deadline extended since the timer was armed wins. */
    expiredToPause: ({ context }) =>
      isExpired(context.record, context.now()) && context.record.lifecycle.onTimeout === "pause" && context.pauseRetry === null,
    expiredToKill: ({ context }) => isExpired(context.record, context.now()) && context.record.lifecycle.onTimeout === "kill",
    /** A requested pause is always retried; a timeout pause only while the deadline is still past. */
    pauseRetryDue: ({ context }) =>
      context.pauseRetry === "request" || (context.pauseRetry === "timeout" && isExpired(context.record, context.now())),
  },
  delays: {
    pauseRetryDelay: ({ context }) => backoffMs(context.record.internal.attempts, context.backoff),
  },
  actions: {
    /** Sends the current record to the writer and counts the write as pending. */
    persist: enqueueActions(({ context, enqueue, self }, params: PersistParams) => {
      const write: WriteRequest = { type: "write", record: context.record, event: params.event, from: context.writtenState, replyTo: self };
      enqueue.sendTo(context.writer, write);
      enqueue.assign({ pending: context.pending + 1, writtenState: context.record.state });
    }),
    rememberKill: assign({
      // The first cause wins: a later KILL during the same transition adds nothing.
      killRequested: ({ context, event }) => (event.type === "KILL" ? (context.killRequested ?? event.reason) : context.killRequested),
    }),
    applyRequestedKill: assign({
      record: ({ context }) => toKilling(context.record, context.killRequested ?? "request"),
      killRequested: null,
      pauseRetry: null,
    }),
  },
}).createMachine({
  id: "sandbox",
  initial: "starting",
  context: ({ input }) => initialContext(input),
  on: {
    persisted: {
      actions: assign(({ context, event }) => {
        // Acks arrive in write order; max() keeps a late duplicate from moving revision back.
        const newer = event.record.revision > context.persisted.revision;
        return {
          pending: Math.max(0, context.pending - 1),
          persisted: newer ? event.record : context.persisted,
          record: newer ? { ...context.record, revision: event.record.revision } : context.record,
        };
      }),
    },
    "persist.failed": {
      actions: assign(({ context, event }) => ({ pending: Math.max(0, context.pending - 1), persistError: event.error })),
    },
  },
  states: {
    starting: {
      invoke: {
        id: "start",
        src: "startSandbox",
        input: ({ context }) => ({ record: context.record }),
        onDone: {
          target: "running",
          actions: [
            assign({ record: ({ context, event }) => toStarted(context.record, event.output, context.now(), context.limits) }),
            { type: "persist", params: { event: "started" } },
          ],
        },
        onError: {
          target: "killed",
          actions: [
            assign({ record: ({ context, event }) => toStartFailed(context.record, event.error, context.now()), killRequested: null }),
            { type: "persist", params: { event: "start_failed" } },
          ],
        },
      },
      on: { KILL: { actions: "rememberKill" } },
    },
    running: {
      // A KILL that arrived during the transition that led here.
      always: {
        guard: "killRequested",
        target: "killing",
        actions: ["applyRequestedKill", { type: "persist", params: ({ context }) => ({ event: killEventName(context.record.killReason ?? "request") }) }],
      },
      // xstate arms `after` on every entry, guard or not: with no failed pause, attempts = 0 gives a
      // 0 ms delay, so the timer fires at once and takes the no-op branch instead of lingering.
      after: {
        pauseRetryDelay: [
          {
            guard: "pauseRetryDue",
            target: "pausing",
            actions: [assign({ record: ({ context }) => toPausing(context.record, true) }), { type: "persist", params: { event: "pause" } }],
          },
          // The retry is no longer due (deadline extended): forget it so the next TIMEOUT pauses again.
          { actions: assign({ pauseRetry: null }) },
        ],
      },
      on: {
        PAUSE: {
          target: "pausing",
          actions: [
            assign({ record: ({ context }) => toPausing(context.record, false), pauseRetry: "request" }),
            { type: "persist", params: { event: "pause" } },
          ],
        },
        TIMEOUT: [
          {
            guard: "expiredToPause",
            target: "pausing",
            actions: [
              assign({ record: ({ context }) => toPausing(context.record, false), pauseRetry: "timeout" }),
              { type: "persist", params: { event: "timeout" } },
            ],
          },
          {
            guard: "expiredToKill",
            target: "killing",
            actions: [
              assign({ record: ({ context }) => toKilling(context.record, "timeout"), pauseRetry: null }),
              { type: "persist", params: { event: "timeout" } },
            ],
          },
        ],
        KILL: {
          target: "killing",
          actions: [
            assign({ record: ({ context, event }) => toKilling(context.record, event.reason), pauseRetry: null }),
            { type: "persist", params: ({ event }) => ({ event: killEventName(event.reason) }) },
          ],
        },
        // Already running: a no-op (no write). The client's latest word is "running", so a pending pause retry is dropped.
        RESUME: { actions: assign({ pauseRetry: null }) },
        SET_TIMEOUT: {
          guard: "hasTtl",
          actions: [
            assign({ record: ({ context, event }) => applySetTimeout(context.record, event.timeoutMs, context.now(), context.limits) }),
            { type: "persist", params: { event: "set_timeout" } },
          ],
        },
        REFRESH: {
          guard: "hasTtl",
          actions: [
            assign({ record: ({ context, event }) => applyRefresh(context.record, event.durationMs, context.now(), context.limits) }),
            { type: "persist", params: { event: "refresh" } },
          ],
        },
        ACTIVITY: {
          actions: assign({
            // A proxy clock ahead of ours must not push the deadline into the future.
            record: ({ context, event }) => applyActivity(context.record, Math.min(event.at, context.now()), context.limits),
            dirty: true,
          }),
        },
        FLUSH: { guard: "dirty", actions: [assign({ dirty: false }), { type: "persist", params: { event: "activity" } }] },
      },
    },
    pausing: {
      invoke: {
        id: "pause",
        src: "pauseSandbox",
        input: ({ context }) => ({ record: context.record }),
        onDone: {
          target: "paused",
          actions: [
            assign({
              record: ({ context, event }) => event.output?.decided ?? DRIVER_OUTCOMES.pausing.decide(context, event.output ?? undefined),
              pauseRetry: null,
            }),
            { type: "persist", params: { event: DRIVER_OUTCOMES.pausing.event } },
          ],
        },
        onError: {
          target: "running",
          actions: [
            assign({ record: ({ context, event }) => toPauseFailed(context.record, event.error, context.now()) }),
            { type: "persist", params: { event: "pause_failed" } },
          ],
        },
      },
      on: { KILL: { actions: "rememberKill" } },
    },
    paused: {
      always: {
        guard: "killRequested",
        target: "killing",
        actions: ["applyRequestedKill", { type: "persist", params: ({ context }) => ({ event: killEventName(context.record.killReason ?? "request") }) }],
      },
      on: {
        RESUME: {
          target: "resuming",
          actions: [
            assign({ record: ({ context, event }) => toResuming(context.record, event.timeoutMs) }),
            { type: "persist", params: { event: "resume" } },
          ],
        },
        KILL: {
          target: "killing",
          actions: [
            assign({ record: ({ context, event }) => toKilling(context.record, event.reason) }),
            { type: "persist", params: ({ event }) => ({ event: killEventName(event.reason) }) },
          ],
        },
        // Stores timeoutMs for the next resume; endAt stays null (contract).
        SET_TIMEOUT: {
          guard: "hasTtl",
          actions: [
            assign({ record: ({ context, event }) => applySetTimeout(context.record, event.timeoutMs, context.now(), context.limits) }),
            { type: "persist", params: { event: "set_timeout" } },
          ],
        },
      },
    },
    resuming: {
      invoke: {
        id: "resume",
        src: "resumeSandbox",
        input: ({ context }) => ({ record: context.record }),
        onDone: {
          target: "running",
          actions: [
            assign({ record: ({ context, event }) => event.output.decided ?? DRIVER_OUTCOMES.resuming.decide(context, event.output) }),
            { type: "persist", params: { event: DRIVER_OUTCOMES.resuming.event } },
          ],
        },
        onError: {
          target: "paused",
          actions: [
            assign({ record: ({ context, event }) => toResumeFailed(context.record, event.error, context.now()) }),
            { type: "persist", params: { event: "resume_failed" } },
          ],
        },
      },
      on: { KILL: { actions: "rememberKill" } },
    },
    killing: {
      invoke: {
        id: "remove",
        src: "removeSandbox",
        input: ({ context }) => ({ record: context.record, delayMs: backoffMs(context.record.internal.attempts, context.backoff) }),
        onDone: {
          target: "killed",
          actions: [assign({ record: ({ context }) => toKilled(context.record, context.now()) }), { type: "persist", params: { event: "killed" } }],
        },
        onError: {
          // Re-entering restarts removeSandbox with the grown backoff delay.
          target: "killing",
          reenter: true,
          actions: [
            assign({ record: ({ context, event }) => toRemoveFailed(context.record, event.error, context.now()) }),
            { type: "persist", params: { event: "remove_failed" } },
          ],
        },
      },
    },
    killed: { type: "final" },
  },
});

/** The machine's type (what `.provide` returns too). */
export type SandboxMachine = typeof sandboxMachine;
