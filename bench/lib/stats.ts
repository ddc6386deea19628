/** The bench's one statistics module: nearest-rank percentiles, summaries, paired medians, a high-resolution clock. */

/** The usual statistics of a sample set. */
export interface Summary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of ascending `sorted` (p in 0..100); NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** Nearest-rank median of `samples` (any order). */
export const median = (samples: readonly number[]): number => percentile([...samples].sort((a, b) => a - b), 50);

/** Summary of `samples` (any order); NaN fields when empty. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return {
    n: sorted.length,
    min: sorted[0] ?? NaN,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    mean,
  };
}

/** Samples (ms) of both sides of a comparison, index i of each taken in the same round. */
export interface Paired {
  baseline: number[];
  corral: number[];
}

/** The median of the per-round differences corral_i - baseline_i. */
export function pairedDeltaP50({ baseline, corral }: Paired): number {
  return median(corral.map((ms, i) => ms - baseline[i]!).filter(Number.isFinite));
}

/** Milliseconds since an arbitrary origin, sub-microsecond resolution. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** Runs `fn` and resolves with how long it took, in ms. */
export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = nowMs();
  await fn();
  return nowMs() - t0;
}
