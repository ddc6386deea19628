/**
 * The shapes every benchmark suite shares: what a suite declares (its
 * parameters), what it gets (a context with the run's nats-server), and what it
 * returns (rows that compare Corral with a baseline measured in the same run).
 */
import type { NatsServer } from "../../test/helpers/nats.js";

/**
 * What a row must meet. Targets are reported, never asserted: a miss is a
 * finding for docs/performance.md, not a failed run.
 * - `ratio`: corral / baseline <= max; `minRatio`: corral / baseline >= min (throughput);
 * - `delta`: corral - baseline <= max (in the row's unit);
 * - `max` / `min`: corral alone against a bound (no baseline needed).
 */
export type Target =
  | { kind: "ratio"; max: number }
  | { kind: "minRatio"; min: number }
  | { kind: "delta"; max: number }
  | { kind: "max"; max: number }
  | { kind: "min"; min: number };

/** One line of a suite's table. */
export interface Row {
  /** What is measured, with the statistic: "create -> HTTP ready p50". */
  metric: string;
  /** "ms", "ops/s", "KiB", "%core"... */
  unit: string;
  /** The same statistic of the baseline, or null when there is none. */
  baseline: number | null;
  corral: number;
  /** Null: context only. */
  target: Target | null;
}

/** What a suite hands back to the runner. */
export interface SuiteResult {
  rows: Row[];
  /** Caveats worth printing under the table (limits hit, what was skipped and why). */
  notes: string[];
  /** Anything else worth keeping in the JSON result (raw summaries, counts). */
  details?: Record<string, unknown>;
}

/** A numeric knob of a suite: `--<suite>.<name>=N`, `--<name>=N` or env `BENCH_<SUITE>_<NAME>`. */
export interface ParamSpec {
  default: number;
  /** Used by `--quick` (smoke runs, tests). @default the default */
  quick?: number;
  doc: string;
}

/** What a suite receives (`P`: the names of its parameters). */
export interface SuiteContext<P extends string = string> {
  /** The run's own nats-server (JetStream, temp store, random port). */
  nats: NatsServer;
  /** The bench/ folder (entries of helper processes live there). */
  benchDir: string;
  /** Resolved values of the suite's parameters. */
  params: Record<P, number>;
  /** Progress line on stderr (stdout carries the tables). */
  progress(message: string): void;
  /**
   * Registers a cleanup (remove containers, stop processes). Cleanups run
   * last-in first-out when the suite ends, fails, or the run is interrupted
   * with Ctrl-C, so nothing a suite made outlives it.
   */
  cleanup(fn: () => Promise<void> | void): void;
}

/** A benchmark suite of bench/suites/. */
export interface Suite<P extends string = string> {
  name: string;
  description: string;
  params: Record<P, ParamSpec>;
  run(ctx: SuiteContext<P>): Promise<SuiteResult>;
}

/** Declares a suite, typing its `ctx.params` by the names in `params`. */
export const defineSuite = <P extends string>(suite: Suite<P>): Suite<P> => suite;
