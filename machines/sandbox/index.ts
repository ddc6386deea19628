/**
 * The sandbox lifecycle machine and everything a host (the node actor) needs
 * to drive it. Pure: no NATS, no Docker, no clock of its own.
 *
 * ## Starting a new sandbox
 * The node writes the `create` record itself (state `starting`), then:
 * ```ts
 * const machine = sandboxMachine.provide({
 *   actors: {
 *     startSandbox: fromPromise(async ({ input }) => driver.start(input.record)),   // -> { handle, endpoint }
 *     pauseSandbox: fromPromise(async ({ input }) => driver.pause(input.record)), // may return {endpointKept}
 *     resumeSandbox: fromPromise(async ({ input }) => driver.resume(input.record)), // -> { endpoint }
 *     removeSandbox: fromPromise(async ({ input, signal }) => { await sleep(input.delayMs, signal); await driver.remove(input.record); }),
 *   },
 * });
 * const actor = createActor(machine, { input: { record, writer, limits: config } }).start();
 * ```
 * `startSandbox` must clean up whatever it created before it rejects (a failed
 * start goes straight to `killed`). `removeSandbox` must treat "already gone"
 * as success and honour `delayMs` (the backoff after earlier failures).
 *
 * ## Writer protocol
 * Every transition that changes the record sends the writer a
 * {@link WriteRequest} `{ type: "write", record, event, from, replyTo }` and
 * counts it in `context.pending`. The writer applies writes in order
 * (compare-and-swap on the revision it wrote last, publishing one event per
 * write) and answers `replyTo` with `{ type: "persisted", record }` (as stored,
 * new revision) or `{ type: "persist.failed", error }`. `context.persisted` is
 * the last acknowledged record: the only one a reply to a client may carry.
 * On `persist.failed` the machine records `context.persistError` and carries
 * on; the host decides (re-read the KV, reconcile, stop the actor).
 * Restores write nothing.
 *
 * ## Answering a command
 * 1. `checkCommand(context.record, op)`: `noop` -> reply `context.persisted`;
 *    `error` -> reply the error; `wait` -> wait for a stable state, check again.
 * 2. `actor.send(commandEvent(context.record, command))`.
 * 3. Wait (`waitFor`) until the snapshot is in a stable state (`running`,
 *    `paused`, `killed`) with `context.pending === 0`, then reply
 *    `context.persisted`. `killed` is final: the actor stops there and
 *    cannot receive the ack of its last write, so for `killed` take the
 *    stored record from the writer (it knows when that write landed).
 *
 * ## Timers
 * The host arms one timer per running sandbox from `context.record.endAt`
 * (re-armed on every snapshot change; in-memory activity moves it before it
 * is flushed) and sends `TIMEOUT` when it fires. The machine re-checks the
 * deadline, so a stale timer is harmless. The host also sends `FLUSH` every
 * `activityFlushMs` to persist coalesced `ACTIVITY`.
 *
 * ## Restore after a node restart
 * `createActor(machine, { snapshot: restoreSnapshot(record, { writer, limits }, machine) })`
 * for `running`, `paused` and `killed` records (no entry actions run, no
 * write). Transient records throw: inspect the container and write a stable
 * state first. Re-arm the deadline timer from the record.
 *
 * @module
 */
export { sandboxMachine, MACHINE_STATES, type SandboxMachine } from "./machine.js";
export { initialContext } from "./context.js";
export { restoreSnapshot, createRestoredActor, isRestorable, RESTORABLE_STATES, type RestorableState } from "./restore.js";
export { TRANSITIONS, DRIVER_EVENTS, PAUSE_RETRY_EVENT, type TransitionRow } from "./transitions.js";
export { checkCommand, commandEvent, type CommandOp, type SandboxCommand, type CommandDecision } from "./commands.js";
export { lifecycleMermaid } from "./mermaid.js";
export { DRIVER_OUTCOMES, killEventName, errorMessage, toContainerExited, toKilled, type DriverOutcome, type TransientOutcomes } from "./decide.js";
export {
  WRITE_EVENTS,
  type WriteEventName,
  type WriteRequest,
  type PersistedEvent,
  type PersistFailedEvent,
  type SandboxMachineEvent,
  type SandboxMachineInput,
  type SandboxContext,
  type KillRequestReason,
  type PauseRetry,
  type PendingWrite,
  type StartSandboxInput,
  type StartSandboxOutput,
  type PauseSandboxInput,
  type PauseSandboxOutput,
  type ResumeSandboxInput,
  type ResumeSandboxOutput,
  type RemoveSandboxInput,
} from "./types.js";
