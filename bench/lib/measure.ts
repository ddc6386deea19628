/**
 * Measuring Corral against its baseline in the same run: the two are
 * interleaved (ABAB..., alternating which goes first) so that drift on a busy
 * shared machine (other builds, GC, page cache) lands on both sides alike.
 */
import { nowMs, pairedDeltaP50, summarize, timeMs, type Paired, type Summary } from "./stats.js";
import type { Row, Target } from "./types.js";

/**
 * One measured operation: resolves with the milliseconds it took (setup it
 * needs is not counted). `recorded` is false during warm-up, for probes that
 * also keep samples of their own (e.g. pause and resume of one cycle).
 */
export type Probe = (recorded: boolean) => Promise<number>;

/**
 * Runs `warmup` unrecorded rounds, then `n` recorded rounds of every probe.
 * With k probes, round i starts with probe i mod k and goes up, or down in
 * every other block of k rounds: over 2k rounds each probe goes first, and
 * runs right after each other probe, equally often. Returns each probe's
 * samples.
 */
export async function alternateAll(n: number, warmup: number, probes: Probe[]): Promise<number[][]> {
  const out = probes.map((): number[] => []);
  for (let i = 0; i < warmup + n; i++) {
    for (let j = 0; j < probes.length; j++) {
      const k = probes.length;
      const step = Math.floor(i / k) % 2 === 0 ? j : k - j;
      const which = (i + step) % k;
      const ms = await probes[which]!(i >= warmup);
      if (i >= warmup) out[which]!.push(ms);
    }
  }
  return out;
}

/** {@link alternateAll} of a baseline and Corral: even rounds run the baseline first, odd rounds Corral first. */
export async function alternate(n: number, warmup: number, baseline: Probe, corral: Probe): Promise<Paired> {
  const [b, c] = await alternateAll(n, warmup, [baseline, corral]);
  return { baseline: b!, corral: c! };
}

/** A statistic a latency row reports. */
export type Stat = "p50" | "p99" | "max";

/** Targets per statistic of a latency comparison. */
export type LatencyTargets = Partial<Record<Stat, Target>>;

/**
 * p50 and p99 rows (or `stats`) of one paired latency measurement, plus both
 * summaries for the JSON. With a `delta` target on p50 (or `pairedDelta`), a
 * context row follows: the median of the per-round differences, far less
 * sensitive than a difference of medians to the engine's own spread and to
 * drift on a shared machine.
 */
export function latencyRows(
  metric: string,
  paired: Paired,
  targets: LatencyTargets = {},
  { pairedDelta = targets.p50?.kind === "delta", stats = ["p50", "p99"] }: { pairedDelta?: boolean; stats?: Stat[] } = {},
): { rows: Row[]; summaries: { baseline: Summary; corral: Summary } } {
  const baseline = summarize(paired.baseline);
  const corral = summarize(paired.corral);
  const rows: Row[] = stats.map((stat) => ({
    metric: `${metric} ${stat}`,
    unit: "ms",
    baseline: baseline[stat],
    corral: corral[stat],
    target: targets[stat] ?? null,
  }));
  if (pairedDelta) rows.push({ metric: `${metric} paired delta p50`, unit: "ms", baseline: null, corral: pairedDeltaP50(paired), target: null });
  return { rows, summaries: { baseline, corral } };
}

/** One step of a cycle (e.g. pause); its duration is measured by {@link alternateCycles}. */
export type Step = () => Promise<unknown>;

/**
 * Two-step cycles (pause then resume) on each side, interleaved like
 * {@link alternateAll}; each step is timed on its own. Returns, per side, the
 * samples of its first steps and of its second steps.
 */
export async function alternateCycles(n: number, warmup: number, sides: [Step, Step][]): Promise<{ first: number[]; second: number[] }[]> {
  const out = sides.map(() => ({ first: [] as number[], second: [] as number[] }));
  const probes = sides.map((steps, k): Probe => async (recorded) => {
    const a = await timeMs(steps[0]);
    const b = await timeMs(steps[1]);
    if (recorded) {
      out[k]!.first.push(a);
      out[k]!.second.push(b);
    }
    return a + b;
  });
  await alternateAll(n, warmup, probes);
  return out;
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
