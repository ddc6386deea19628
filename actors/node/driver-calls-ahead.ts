/**
 * Pause and resume calls a command starts just before the machine takes the
 * transition that invokes them, so that the engine request is on the wire
 * while the machine transitions, writes its intent and notifies its
 * observers (~0.25 ms of JavaScript on this path, cold, that used to come
 * before the request).
 *
 * Safe because the decision is the same one: the command runs in the
 * sandbox's mailbox turn, on a settled machine, and `checkCommand` just
 * decided that the machine's PAUSE (RESUME) transition applies; nothing else
 * can change the machine's state before the event reaches it (every
 * state-changing event goes through the mailbox). Not used for a resume
 * that needs admission (`stop` mode): there the quota check and the event
 * must stay one synchronous step, or two resumes could share one free slot. The machine's driver
 * actor then adopts the call (`take`) instead of starting its own. A call
 * nobody took is reported by `leftOver` (the sandbox stopped being hosted
 * meanwhile): its effect is what reconciliation settles.
 */
import type { PauseMode, SandboxDriver } from "../../src/drivers/types.js";
import { InternalError } from "../../src/errors.js";
import type { SandboxId } from "../../src/ids.js";
import type { Endpoint, StoredSandbox } from "../../src/schema/record.js";

type AheadOp = "pause" | "resume";
type Call = { op: "pause"; result: Promise<void> } | { op: "resume"; result: Promise<Endpoint> };

export class DriverCallsAhead {
  readonly #calls = new Map<SandboxId, Call>();

  constructor(
    private readonly driver: SandboxDriver,
    private readonly pauseMode: PauseMode,
  ) {}

  /** Starts `op` on the sandbox of `record` now, for its machine to adopt. */
  start(record: StoredSandbox, op: AheadOp): void {
    const handle = record.internal.handle;
    if (handle === null || this.#calls.has(record.sandboxId)) return;
    const call: Call =
      op === "pause" ? { op, result: this.driver.pause(handle, this.pauseMode) } : { op, result: this.driver.resume(handle, this.pauseMode) };
    // The machine's actor sees the outcome when it takes the call; until then a failure is not unhandled.
    call.result.catch(() => {});
    this.#calls.set(record.sandboxId, call);
  }

  /** The pause started ahead for `id`, if any (taken: the machine's actor now owns it). */
  takePause(id: SandboxId): Promise<void> | undefined {
    return this.#take(id, "pause") as Promise<void> | undefined;
  }

  /** The resume started ahead for `id`, if any. */
  takeResume(id: SandboxId): Promise<Endpoint> | undefined {
    return this.#take(id, "resume") as Promise<Endpoint> | undefined;
  }

  /** Forgets a call the machine did not take; returns its op (a bug or an unhosted sandbox), or null. */
  leftOver(id: SandboxId): AheadOp | null {
    const call = this.#calls.get(id);
    this.#calls.delete(id);
    return call?.op ?? null;
  }

  #take(id: SandboxId, op: AheadOp): Promise<unknown> | undefined {
    const call = this.#calls.get(id);
    if (call === undefined) return undefined;
    this.#calls.delete(id);
    if (call.op !== op) throw new InternalError(`sandbox ${id}: a ${call.op} was started ahead, but the machine invoked ${op}`);
    return call.result;
  }
}
