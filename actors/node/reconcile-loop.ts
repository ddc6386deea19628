/**
 * Reconciliation while the node runs (./reconcile.ts): one pass every
 * `intervalMs` (a container that vanished while its engine event was lost),
 * and one as soon as possible after a record write failed, repeated with a
 * growing delay until a pass settles every record: so a driver action whose
 * outcome could not be stored is reconciled as soon as the store answers
 * again, without a restart. A pass costs one engine list and one KV scan.
 *
 * Passes never overlap each other nor the single-record adoptions a command
 * asks for (`exclusive`): both settle unhosted records, and two settling the
 * same record would each call the engine.
 */
import type { Logger } from "../../src/log.js";
import { SerialQueue } from "../../src/serial-queue.js";

/** Options of {@link ReconcileLoop}. */
export interface ReconcileLoopOptions {
  /** One pass; resolves true when every record was settled. */
  pass: () => Promise<boolean>;
  /** Between two regular passes. */
  intervalMs: number;
  /** Delay of the first pass after a failure, doubled while passes keep failing, capped at `retryMaxMs`. */
  retryBaseMs: number;
  retryMaxMs: number;
  log: Logger;
}

/** Runs reconciliation passes while the node runs. */
export class ReconcileLoop {
  readonly #opts: ReconcileLoopOptions;
  readonly #queue = new SerialQueue();
  #timer: NodeJS.Timeout | null = null;
  /** When the armed timer fires (ms since epoch). */
  #dueAt = Infinity;
  /** Delay before the next pass while passes fail; 0 when the last one succeeded. */
  #retryMs = 0;
  #running = false;
  /** `soon()` was asked before `start()` (the start-up pass left a record unsettled). */
  #dueAtStart = false;

  constructor(opts: ReconcileLoopOptions) {
    this.#opts = opts;
  }

  /** Arms the regular pass, or a pass soon when one was asked for before the start. */
  start(): void {
    this.#running = true;
    this.#arm(this.#dueAtStart ? this.#opts.retryBaseMs : this.#opts.intervalMs);
  }

  /** Something could not be stored or settled: a pass soon (sooner never moves later; before `start`, right after it). */
  soon(): void {
    if (this.#running) this.#arm(this.#retryMs || this.#opts.retryBaseMs);
    else this.#dueAtStart = true;
  }

  /** Runs `task` when no pass is running (and no pass starts until it ends). */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return this.#queue.post(task);
  }

  /** Stops arming passes and waits for the one under way. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#queue.post(async () => undefined);
  }

  #arm(delayMs: number): void {
    const at = Date.now() + delayMs;
    if (this.#timer && this.#dueAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#dueAt = at;
    this.#timer = setTimeout(() => void this.#run(), delayMs);
    this.#timer.unref?.();
  }

  async #run(): Promise<void> {
    this.#timer = null;
    this.#dueAt = Infinity;
    let complete = false;
    try {
      complete = await this.#queue.post(this.#opts.pass);
    } catch (err) {
      this.#opts.log.warn({ err: (err as Error).message }, "reconciliation pass failed; retrying");
    }
    if (!this.#running) return;
    this.#retryMs = complete ? 0 : Math.min(this.#opts.retryMaxMs, this.#retryMs ? this.#retryMs * 2 : this.#opts.retryBaseMs);
    this.#arm(complete ? this.#opts.intervalMs : this.#retryMs);
  }
}
