/**
 * A serial task queue: a promise chain that runs one task at a time, in the
 * order they were posted. It is a sandbox's mailbox in the node actor
 * (commands, timer firings, activity flushes and driver events for one
 * sandbox all go through it, so each sees the state the previous one left
 * behind) and the docker driver's lock on network-changing engine calls.
 *
 * A task that throws rejects only its own promise: the chain carries on, so
 * one failed task never wedges the queue.
 */

/** A serial task queue. */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  #queued = 0;

  /** Tasks posted and not yet finished (the running one included). */
  get depth(): number {
    return this.#queued;
  }

  /** True when nothing is running or waiting. */
  get idle(): boolean {
    return this.#queued === 0;
  }

  /**
   * Runs `task` after every task posted before it has settled; resolves or
   * rejects with the task's own outcome.
   */
  post<T>(task: () => Promise<T> | T): Promise<T> {
    this.#queued++;
    const run = this.#tail.then(task);
    // The chain continues whatever the task did; only the caller sees its error.
    this.#tail = run.then(
      () => this.#queued--,
      () => this.#queued--,
    );
    return run;
  }

  /** Resolves once every task posted so far has settled. */
  drained(): Promise<void> {
    return this.#tail.then(() => undefined);
  }
}
