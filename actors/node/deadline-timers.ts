/**
 * Durable deadlines, armed in memory: ONE `setTimeout` per live sandbox,
 * armed from the record's `endAt` (ms since epoch). No polling loop: the cost
 * of n sandboxes is n idle timers, nothing per tick.
 *
 * Node's timers overflow above 2^31-1 ms (~24.8 days) and then fire at once,
 * so a longer delay is clamped and the timer re-arms itself when the clamp
 * runs out. A timer that fires early (clamp, clock adjustments) re-arms for
 * the rest; only one that finds `endAt <= now` calls `onDue`. The callee
 * re-checks the deadline against its current record anyway (the machine's
 * TIMEOUT guard), so a stale firing is harmless.
 */

/** The largest delay `setTimeout` honours (2^31-1 ms). */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** Options of {@link DeadlineTimers}. */
export interface DeadlineTimerOptions<K> {
  /** Called once when `key`'s deadline has passed. Must not throw and must not block. */
  onDue: (key: K) => void;
  /** Clock in ms since epoch. @default Date.now */
  now?: () => number;
  /** Clamp of one timer's delay. @default MAX_TIMER_DELAY_MS */
  maxDelayMs?: number;
}

interface Armed {
  at: number;
  timer: NodeJS.Timeout;
}

/** One re-armable deadline timer per key. */
export class DeadlineTimers<K> {
  readonly #armed = new Map<K, Armed>();
  readonly #onDue: (key: K) => void;
  readonly #now: () => number;
  readonly #maxDelayMs: number;

  constructor(options: DeadlineTimerOptions<K>) {
    this.#onDue = options.onDue;
    this.#now = options.now ?? Date.now;
    this.#maxDelayMs = options.maxDelayMs ?? MAX_TIMER_DELAY_MS;
  }

  /** Number of armed timers. */
  get size(): number {
    return this.#armed.size;
  }

  /** The deadline armed for `key`, if any. */
  armedAt(key: K): number | undefined {
    return this.#armed.get(key)?.at;
  }

  /**
   * Arms `key` for `at` (ms since epoch), replacing any earlier deadline;
   * null disarms. Arming the deadline that is already armed is a no-op, so
   * callers may call this on every state change. A past `at` fires at once
   * (on the next turn of the event loop, never synchronously).
   */
  arm(key: K, at: number | null): void {
    const current = this.#armed.get(key);
    if (at === null) {
      if (current) this.disarm(key);
      return;
    }
    if (current?.at === at) return;
    if (current) clearTimeout(current.timer);
    this.#schedule(key, at);
  }

  /** Stops `key`'s timer. */
  disarm(key: K): void {
    const current = this.#armed.get(key);
    if (!current) return;
    clearTimeout(current.timer);
    this.#armed.delete(key);
  }

  /** Stops every timer. */
  clear(): void {
    for (const { timer } of this.#armed.values()) clearTimeout(timer);
    this.#armed.clear();
  }

  #schedule(key: K, at: number): void {
    const delayMs = Math.min(Math.max(0, at - this.#now()), this.#maxDelayMs);
    const timer = setTimeout(() => this.#fire(key, at), delayMs);
    // Deadlines never keep the process alive on their own.
    timer.unref?.();
    this.#armed.set(key, { at, timer });
  }

  #fire(key: K, at: number): void {
    const current = this.#armed.get(key);
    if (current?.at !== at) return; // re-armed meanwhile
    if (at > this.#now()) {
      this.#schedule(key, at); // clamped or early: wait for the rest
      return;
    }
    this.#armed.delete(key);
    this.#onDue(key);
  }
}
