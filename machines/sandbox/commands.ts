/**
 * Preconditions of the API commands a node forwards to a sandbox actor
 * (DESIGN.md, "Exact behaviours"), and the machine event each command
 * becomes. Pure: the node calls `checkCommand` on the actor's current record
 * (inside the actor's mailbox turn, so the decision is never made on stale
 * state), then sends `commandEvent`, or replies at once.
 *
 * Order of checks: `gone` (killing/killed) before `conflict` (manual
 * expiration) before state-dependent no-ops. Validation of the request body
 * happens earlier still, at the API edge.
 *
 * Transient states (`starting`, `pausing`, `resuming`) answer `wait` for
 * every command except `kill`: the node waits for the actor to settle in a
 * stable state and checks again, so `pause` during `resuming` pauses the
 * resumed sandbox, `resume` during `pausing` resumes the paused one, and a
 * `set_timeout` is applied to the record the transition produced (whose
 * `startedAt`/`endAt` it depends on). `kill` proceeds in every live state:
 * the machine remembers it and kills once the transition settles.
 */
import { ConflictError, GoneError, type CorralError } from "../../src/errors.js";
import { NO_EXPIRATION_MESSAGE } from "../../src/lifecycle/deadline.js";
import { REFRESH_DEFAULT_MS } from "../../src/schema/requests.js";
import type { SandboxRecord, SandboxState } from "../../src/schema/record.js";
import type { SandboxMachineEvent } from "./types.js";

/** The API operations that go through a sandbox actor. */
export type CommandOp = "kill" | "pause" | "resume" | "connect" | "set_timeout" | "refresh";

/** A validated command (numbers already checked by src/lifecycle/deadline.ts). */
export type SandboxCommand =
  | { op: "kill" }
  | { op: "pause" }
  | { op: "resume"; timeoutMs?: number }
  | { op: "connect"; timeoutMs?: number }
  | { op: "set_timeout"; timeoutMs: number }
  | { op: "refresh"; durationMs?: number };

/**
 * What the node does with a command:
 * - `proceed`: send `commandEvent(...)` to the actor, reply once it settles;
 * - `noop`: reply with the unchanged persisted record (same revision);
 * - `wait`: wait for a stable state, then call `checkCommand` again;
 * - `error`: reply with `error`.
 */
export type CommandDecision =
  | { kind: "proceed" }
  | { kind: "noop" }
  | { kind: "wait" }
  | { kind: "error"; error: CorralError };

const PROCEED: CommandDecision = { kind: "proceed" };
const NOOP: CommandDecision = { kind: "noop" };
const WAIT: CommandDecision = { kind: "wait" };

const TRANSIENT: readonly SandboxState[] = ["starting", "pausing", "resuming"];

function gone(record: Pick<SandboxRecord, "sandboxId" | "state">): CommandDecision {
  return { kind: "error", error: new GoneError(`sandbox ${record.sandboxId} is ${record.state}`) };
}

/** Decides a command against the current record. Never throws. */
export function checkCommand(record: Pick<SandboxRecord, "sandboxId" | "state" | "expiration">, op: CommandOp): CommandDecision {
  const { state } = record;
  if (op === "kill") return state === "killing" || state === "killed" ? NOOP : PROCEED;
  if (state === "killing" || state === "killed") return gone(record);
  if ((op === "set_timeout" || op === "refresh") && record.expiration === "manual") {
    return { kind: "error", error: new ConflictError(NO_EXPIRATION_MESSAGE) };
  }
  if (TRANSIENT.includes(state)) return WAIT;
  switch (op) {
    case "pause":
      return state === "paused" ? NOOP : PROCEED;
    case "resume":
      return state === "running" ? NOOP : PROCEED;
    case "connect":
      // On a running sandbox connect only extends, and a manual one has nothing to extend.
      return state === "running" && record.expiration === "manual" ? NOOP : PROCEED;
    case "set_timeout":
      return PROCEED;
    case "refresh":
      return state === "paused" ? NOOP : PROCEED;
  }
}

/**
 * The machine event of a command that `checkCommand` said to `proceed` with.
 * `connect` resumes a paused sandbox (`RESUME`) and on a running one only
 * extends: `REFRESH` by `timeoutMs` (default: the stored `timeoutMs`), which
 * never shortens the deadline. `refresh` without a duration uses 60000.
 */
export function commandEvent(record: Pick<SandboxRecord, "state" | "timeoutMs">, command: SandboxCommand): SandboxMachineEvent {
  switch (command.op) {
    case "kill":
      return { type: "KILL", reason: "request" };
    case "pause":
      return { type: "PAUSE" };
    case "resume":
      return { type: "RESUME", timeoutMs: command.timeoutMs };
    case "connect":
      return record.state === "paused"
        ? { type: "RESUME", timeoutMs: command.timeoutMs }
        : { type: "REFRESH", durationMs: command.timeoutMs ?? record.timeoutMs };
    case "set_timeout":
      return { type: "SET_TIMEOUT", timeoutMs: command.timeoutMs };
    case "refresh":
      return { type: "REFRESH", durationMs: command.durationMs ?? REFRESH_DEFAULT_MS };
  }
}
