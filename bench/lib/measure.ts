/**
 * Measuring Corral against its baseline in the same run: the two are
 * interleaved (ABAB..., alternating which goes first) so that drift on a busy
 * shared machine (other builds, GC, page cache) lands on both sides alike.
 */
import type { Row, Target } from "./types.js";
import { nowMs, summarize, timeMs, type Summary } from "./stats.js";

/** Samples (ms) of both sides. */
export interface Paired {
  baseline: number[];
  corral: number[];
}

/**
 * One measured operation: resolves with the milliseconds it took (setup it
 * needs is not counted). `recorded` is false during warm-up, for probes that
 * also keep samples of their own (e.g. pause and resume of one cycle).
 */
export type Probe = (recorded: boolean) => Promise<number>;

/**
 * Runs `warmup` unrecorded rounds, then `n` recorded rounds of both probes;
 * even rounds run the baseline first, odd rounds Corral first.
 */
export async function alternate(n: number, warmup: number, baseline: Probe, corral: Probe): Promise<Paired> {
  const out: Paired = { baseline: [], corral: [] };
  for (let i = 0; i < warmup + n; i++) {
    const order: [Probe, number[]][] = [
      [baseline, out.baseline],
      [corral, out.corral],
    ];
    if (i % 2 === 1) order.reverse();
    for (const [probe, samples] of order) {
      const ms = await probe(i >= warmup);
      if (i >= warmup) samples.push(ms);
    }
  }
  return out;
}

/** Targets per statistic of a latency comparison. */
export interface LatencyTargets {
  p50?: Target;
  p99?: Target;
}

/**
 * p50 and p99 rows of one paired latency measurement, plus both summaries for
 * the JSON. With a `delta` target on p50, a context row follows: the median of
 * the per-round differences (corral_i - baseline_i of adjacent runs), which
 * is far less sensitive than a difference of medians to the engine's own
 * spread (a docker remove varies by tens of ms) and to drift on a shared machine.
 */
export function latencyRows(metric: string, paired: Paired, targets: LatencyTargets = {}): { rows: Row[]; summaries: { baseline: Summary; corral: Summary } } {
  const baseline = summarize(paired.baseline);
  const corral = summarize(paired.corral);
  const rows: Row[] = (["p50", "p99"] as const).map((stat) => ({
    metric: `${metric} ${stat}`,
    unit: "ms",
    baseline: baseline[stat],
    corral: corral[stat],
    target: targets[stat] ?? null,
  }));
  if (targets.p50?.kind === "delta") {
    const diffs = paired.corral.map((ms, i) => ms - paired.baseline[i]!).filter(Number.isFinite);
    rows.push({ metric: `${metric} paired delta p50`, unit: "ms", baseline: null, corral: summarize(diffs).p50, target: null });
  }
  return { rows, summaries: { baseline, corral } };
}

/** One step of a cycle (e.g. pause); its duration is measured by {@link alternateCycle}. */
export type Step = () => Promise<unknown>;

/**
 * Two-step cycles (pause then resume) on each side, interleaved like
 * {@link alternate}; each step is timed on its own. Returns the samples of
 * the first steps and of the second steps.
 */
export async function alternateCycle(n: number, warmup: number, baseline: [Step, Step], corral: [Step, Step]): Promise<[Paired, Paired]> {
  const first: Paired = { baseline: [], corral: [] };
  const second: Paired = { baseline: [], corral: [] };
  const side = (steps: [Step, Step], key: keyof Paired): Probe => async (recorded) => {
    const a = await timeMs(steps[0]);
    const b = await timeMs(steps[1]);
    if (recorded) {
      first[key].push(a);
      second[key].push(b);
    }
    return a + b;
  };
  await alternate(n, warmup, side(baseline, "baseline"), side(corral, "corral"));
  return [first, second];
}

/** What {@link closedLoop} measured. */
export interface LoadResult {
  /** Operations per second over the whole run. */
  perSecond: number;
  wallMs: number;
  /** Latency of each operation, ms. */
  latencies: number[];
}

/**
 * `concurrency` workers (clients) each run `op` back to back until `total`
 * operations were started (a closed loop: throughput is what the system
 * sustains, not what a generator offers). The first failure rejects.
 */
export async function closedLoop(concurrency: number, total: number, op: (i: number, worker: number) => Promise<unknown>): Promise<LoadResult> {
  let next = 0;
  const latencies: number[] = [];
  const t0 = nowMs();
  const worker = async (w: number) => {
    for (let i = next++; i < total; i = next++) latencies.push(await timeMs(() => op(i, w)));
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, (_, w) => worker(w)));
  const wallMs = nowMs() - t0;
  return { perSecond: (total / wallMs) * 1000, wallMs, latencies };
}
