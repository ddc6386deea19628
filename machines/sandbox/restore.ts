/**
 * Restoring a sandbox actor from its stored record after a node restart.
 *
 * Only stable states are restored: a record in a transient state (`starting`,
 * `pausing`, `resuming`, `killing`) says a driver operation was under way when
 * the node died, and only the container can tell how it ended; the node
 * inspects it and writes a stable state first (reconcile), then restores.
 *
 * `resolveState` builds the snapshot without running entry or transition
 * actions, so a restore writes nothing. xstate does not re-arm `after` timers
 * on restore; the machine's only `after` is the pause retry, whose reason
 * (`pauseRetry`) is not persisted either, so nothing is silently half-armed.
 * Deadlines are not timers in the machine at all: the host arms its TIMEOUT
 * timer from `record.endAt`, which the restored context carries.
 */
import { createActor, type SnapshotFrom } from "xstate";
import { InternalError } from "../../src/errors.js";
import type { SandboxState, StoredSandbox } from "../../src/schema/record.js";
import { initialContext } from "./context.js";
import { sandboxMachine, type SandboxMachine } from "./machine.js";
import type { SandboxMachineInput } from "./types.js";

/** States an actor may be restored in. */
export const RESTORABLE_STATES = ["running", "paused", "killed"] as const satisfies readonly SandboxState[];
/** One of {@link RESTORABLE_STATES}. */
export type RestorableState = (typeof RESTORABLE_STATES)[number];

/** True when `state` is stable (no driver operation under way) and can be restored. */
export function isRestorable(state: SandboxState): state is RestorableState {
  return (RESTORABLE_STATES as readonly SandboxState[]).includes(state);
}

/**
 * The snapshot of a sandbox actor in `record.state`, context built from
 * `input` with `record` as both the decided and the persisted record.
 * `killed` yields a snapshot with status `done`.
 * @throws InternalError for a transient state (the host must reconcile first)
 */
export function restoreSnapshot(
  record: StoredSandbox,
  input: Omit<SandboxMachineInput, "record">,
  machine: SandboxMachine = sandboxMachine,
): SnapshotFrom<SandboxMachine> {
  if (!isRestorable(record.state)) {
    throw new InternalError(
      `cannot restore sandbox ${record.sandboxId} in transient state ${record.state}: reconcile it with the container first`,
    );
  }
  return machine.resolveState({ value: record.state, context: initialContext({ ...input, record }) });
}

/**
 * Creates (does not start) an actor of `machine` restored from `record`.
 * Equivalent to `createActor(machine, { snapshot: restoreSnapshot(...) })`.
 */
export function createRestoredActor(record: StoredSandbox, input: Omit<SandboxMachineInput, "record">, machine: SandboxMachine = sandboxMachine) {
  // `input` is ignored when a snapshot is given, but the machine's types require it.
  return createActor(machine, { snapshot: restoreSnapshot(record, input, machine), input: { ...input, record } });
}
