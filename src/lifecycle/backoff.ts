/**
 * Retry backoff of failed driver operations (pause retries, kill/remove
 * retries). Pure: the caller counts attempts (`internal.attempts` in the
 * record, so the count survives a node restart) and waits the returned delay.
 */

/** Exponential backoff settings. */
export interface BackoffOptions {
  /** Delay before the first retry. @default 500 */
  baseMs: number;
  /** Cap of any delay. @default 30000 */
  maxMs: number;
}

/** The defaults of {@link BackoffOptions}. */
export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 500, maxMs: 30_000 };

/**
 * Delay before the next try after `attempts` consecutive failures:
 * 0 when nothing failed yet, then `baseMs * 2^(attempts-1)` capped at `maxMs`
 * (500, 1000, 2000, ... 30000 with the defaults).
 */
export function backoffMs(attempts: number, options: BackoffOptions = DEFAULT_BACKOFF): number {
  if (attempts <= 0) return 0;
  // Cap the exponent before Math.pow so a large count cannot overflow to Infinity.
  const exponent = Math.min(attempts - 1, 30);
  return Math.min(options.maxMs, options.baseMs * 2 ** exponent);
}
