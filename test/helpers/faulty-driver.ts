/**
 * Fault injection around a REAL driver: every call goes to the real engine,
 * except that a test can make the next call of an operation fail (before it
 * reaches the engine) or wait for a gate first. Used to drive the machine's
 * error paths (pause failed, resume failed, remove failed, a KILL during a
 * transition) with real containers whose state is then checked.
 */
import { DriverError } from "../../src/drivers/errors.js";
import type { DriverEvent, DriverInstance, PauseMode, SandboxDriver, SandboxSpec, StartedSandbox } from "../../src/drivers/types.js";
import type { NodeId } from "../../src/ids.js";
import type { Endpoint } from "../../src/schema/record.js";

type FaultOp = "start" | "pause" | "resume" | "remove";

/** A driver that forwards to `real`, with per-operation faults. */
export class FaultyDriver implements SandboxDriver {
  readonly #fail = new Map<FaultOp, number>();
  readonly #gates = new Map<FaultOp, Promise<void>>();
  /** Calls seen per operation. */
  readonly calls: Record<FaultOp, number> = { start: 0, pause: 0, resume: 0, remove: 0 };

  constructor(readonly real: SandboxDriver) {}

  get kind() {
    return this.real.kind;
  }

  /** The next `times` calls of `op` fail with an engine DriverError (the engine is not called). */
  failNext(op: FaultOp, times = 1): void {
    this.#fail.set(op, (this.#fail.get(op) ?? 0) + times);
  }

  /** The next call of `op` waits until the returned function is called. */
  hold(op: FaultOp): () => void {
    let release!: () => void;
    this.#gates.set(op, new Promise<void>((resolve) => (release = resolve)));
    return () => release();
  }

  async #enter(op: FaultOp): Promise<void> {
    this.calls[op]++;
    const gate = this.#gates.get(op);
    if (gate) {
      this.#gates.delete(op);
      await gate;
    }
    const left = this.#fail.get(op) ?? 0;
    if (left > 0) {
      this.#fail.set(op, left - 1);
      throw new DriverError(op, "engine", `injected ${op} failure`);
    }
  }

  async start(spec: SandboxSpec): Promise<StartedSandbox> {
    await this.#enter("start");
    return this.real.start(spec);
  }
  keepsEndpointWhenPaused(mode: PauseMode): boolean {
    return this.real.keepsEndpointWhenPaused(mode);
  }

  async pause(handle: string, mode: PauseMode): Promise<void> {
    await this.#enter("pause");
    return this.real.pause(handle, mode);
  }
  async resume(handle: string, mode: PauseMode): Promise<Endpoint> {
    await this.#enter("resume");
    return this.real.resume(handle, mode);
  }
  async remove(handle: string): Promise<void> {
    await this.#enter("remove");
    return this.real.remove(handle);
  }
  inspect(handle: string): Promise<DriverInstance | null> {
    return this.real.inspect(handle);
  }
  list(nodeId: NodeId): Promise<DriverInstance[]> {
    return this.real.list(nodeId);
  }
  watch(nodeId: NodeId, onEvent: (event: DriverEvent) => void): () => void {
    return this.real.watch(nodeId, onEvent);
  }
  close(): Promise<void> {
    return this.real.close();
  }
}
