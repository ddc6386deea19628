/** The machine's initial context, shared by a fresh start and a restore. */
import { DEFAULT_BACKOFF } from "../../src/lifecycle/backoff.js";
import type { SandboxContext, SandboxMachineInput } from "./types.js";

/** Context for `input`: the record is both decided and persisted, nothing in flight. */
export function initialContext(input: SandboxMachineInput): SandboxContext {
  return {
    record: input.record,
    persisted: input.record,
    writing: null,
    failedWrites: 0,
    killRequested: null,
    pauseRetry: null,
    dirty: false,
    activityAt: null,
    persistError: null,
    writer: input.writer,
    now: input.now ?? Date.now,
    limits: input.limits,
    backoff: input.backoff ?? DEFAULT_BACKOFF,
  };
}
