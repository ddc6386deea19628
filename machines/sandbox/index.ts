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
 * ## Writer protocol (write-ahead)
 * Every decision sends the writer one {@link WriteRequest}
 * `{ type: "write", record, event, from, replyTo }` and waits for its answer in
 * the state it is in (`context.writing`): `{ type: "persisted", record }` (as
 * stored, new revision) moves the machine to the decided state with that
 * record as `context.persisted`; `{ type: "persist.failed", error }` moves
 * nothing (`context.failedWrites` grows). So a transient state's driver call
 * starts only once its intent is stored, and the machine leaves it only once
 * the outcome is stored. `context.persisted` is the only record a reply to a
 * client may carry. Restores write nothing.
 *
 * ## Answering a command
 * 1. `checkCommand(context.record, op)`: `noop` -> reply `context.persisted`;
 *    `error` -> reply the error; `wait` -> wait for a stable state, check again.
 * 2. `actor.send(commandEvent(context.record, command))`.
 * 3. Wait (`waitFor`) until the snapshot is in a stable state (`running`,
 *    `paused`, `killed`) with no write in flight. If `failedWrites` grew, the
 *    command's write did not land: answer `unavailable`. Else reply
 *    `context.persisted` (for `killed` too: the machine entered it on the
 *    ack of its last write).
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
 * write). Transient records throw: finish the operation on the container and
 * write its outcome (`DRIVER_OUTCOMES`) first. Re-arm the deadline timer from
 * the record.
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
