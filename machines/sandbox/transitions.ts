/**
 * The contract's transition table (DESIGN.md, "Lifecycle") as data: exactly
 * its rows, in its order. The machine is tested against it row by row
 * (test/unit/machine-table.test.ts), its graph against it edge by edge
 * (test/unit/machine-graph.test.ts), and the Mermaid diagram in
 * docs/lifecycle.md is generated from it (./mermaid.ts).
 */
import type { SandboxState } from "../../src/schema/record.js";

/**
 * Machine event types of the driver actors' outcomes (xstate v5 names
 * `xstate.done.actor.<invoke id>` / `xstate.error.actor.<invoke id>`).
 */
export const DRIVER_EVENTS = {
  started: "xstate.done.actor.start",
  startFailed: "xstate.error.actor.start",
  paused: "xstate.done.actor.pause",
  pauseFailed: "xstate.error.actor.pause",
  resumed: "xstate.done.actor.resume",
  resumeFailed: "xstate.error.actor.resume",
  removed: "xstate.done.actor.remove",
  removeFailed: "xstate.error.actor.remove",
} as const;

/** The delayed event of the pause retry (xstate v5: `xstate.after.<delay>.<state id>`). */
export const PAUSE_RETRY_EVENT = "xstate.after.pauseRetryDelay.sandbox.running";

/** One row of the contract's table. */
export interface TransitionRow {
  /** Source states; `"any"` for the idempotency row. */
  from: readonly SandboxState[] | "any";
  /** The trigger, in the contract's words. */
  event: string;
  /** Target state; `"same"` for the idempotency row. */
  to: SandboxState | "same";
  /** The contract's notes. */
  notes: string;
  /** The machine event types that realize this row. */
  on: readonly string[];
}

/** The contract's table, row for row. */
export const TRANSITIONS: readonly TransitionRow[] = [
  {
    from: ["starting"],
    event: "driver started",
    to: "running",
    notes: "startedAt = now, endAt = now + timeoutMs",
    on: [DRIVER_EVENTS.started],
  },
  {
    from: ["starting"],
    event: "driver failed",
    to: "killed",
    notes: 'killReason = "start_failed", error kept in record',
    on: [DRIVER_EVENTS.startFailed],
  },
  {
    from: ["running"],
    event: "PAUSE (API or timeout with onTimeout=pause)",
    to: "pausing",
    notes: "",
    on: ["PAUSE", "TIMEOUT", PAUSE_RETRY_EVENT],
  },
  {
    from: ["pausing"],
    event: "driver paused",
    to: "paused",
    notes: "timer stops; paused sandboxes are kept until killed",
    on: [DRIVER_EVENTS.paused],
  },
  {
    from: ["pausing"],
    event: "driver failed",
    to: "running",
    notes: "error recorded, retried with backoff; never silently lost",
    on: [DRIVER_EVENTS.pauseFailed],
  },
  {
    from: ["paused"],
    event: "RESUME (API, connect, or proxy auto-resume)",
    to: "resuming",
    notes: "admission check on the node first",
    on: ["RESUME"],
  },
  {
    from: ["resuming"],
    event: "driver resumed",
    to: "running",
    notes: "startedAt = now, endAt = now + timeoutMs",
    on: [DRIVER_EVENTS.resumed],
  },
  {
    from: ["resuming"],
    event: "driver failed",
    to: "paused",
    notes: "error recorded",
    on: [DRIVER_EVENTS.resumeFailed],
  },
  {
    from: ["running", "paused", "pausing", "resuming"],
    event: "KILL",
    to: "killing",
    notes: "a kill during a transition waits for it, then kills",
    on: ["KILL", "TIMEOUT"],
  },
  {
    from: ["killing"],
    event: "driver removed",
    to: "killed",
    notes: "failure: stays killing, retried with backoff",
    on: [DRIVER_EVENTS.removed, DRIVER_EVENTS.removeFailed],
  },
  {
    from: "any",
    event: "PAUSE/RESUME/KILL already in that state",
    to: "same",
    notes: "idempotent no-op, reported as such",
    on: ["PAUSE", "RESUME", "KILL"],
  },
];
