/** The benchmark runner's arithmetic: percentiles, paired medians, ratios/deltas against targets, the table, interleaving. */
import { describe, expect, it } from "vitest";
import { alternate, alternateAll, alternateCycles, closedLoop, latencyRows } from "../../bench/lib/measure.js";
import { evaluate, formatNumber, formatTable, formatTarget } from "../../bench/lib/report.js";
import { median, pairedDeltaP50, percentile, summarize } from "../../bench/lib/stats.js";
import type { Row } from "../../bench/lib/types.js";

describe("stats", () => {
  it("takes nearest-rank percentiles", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNaN();
  });

  it("summarizes unsorted samples", () => {
    const s = summarize([5, 1, 3, 2, 4]);
    expect(s).toMatchObject({ n: 5, min: 1, p50: 3, max: 5, mean: 3 });
    expect(median([4, 1, 3, 2])).toBe(2);
  });

  it("takes the median of per-round differences, not the difference of medians", () => {
    expect(pairedDeltaP50({ baseline: [10, 30, 12], corral: [13, 20, 16] })).toBe(3);
    expect(pairedDeltaP50({ baseline: [10, 30], corral: [13] })).toBe(3);
  });
});

describe("evaluate", () => {
  const row = (corral: number, baseline: number | null, target: Row["target"]): Row => ({ metric: "m", unit: "ms", baseline, corral, target });

  it("judges a ratio target on corral / baseline", () => {
    expect(evaluate(row(109, 100, { kind: "ratio", max: 1.1 }))).toMatchObject({ ratio: 1.09, delta: 9, meets: true });
    expect(evaluate(row(111, 100, { kind: "ratio", max: 1.1 })).meets).toBe(false);
  });

  it("judges a minimum ratio (throughput) on corral / baseline", () => {
    expect(evaluate(row(60, 100, { kind: "minRatio", min: 0.6 })).meets).toBe(true);
    expect(evaluate(row(59, 100, { kind: "minRatio", min: 0.6 })).meets).toBe(false);
    expect(evaluate(row(59, null, { kind: "minRatio", min: 0.6 })).meets).toBeNull();
  });

  it("judges a delta target on corral - baseline", () => {
    expect(evaluate(row(12, 9, { kind: "delta", max: 3 })).meets).toBe(true);
    expect(evaluate(row(12.5, 9, { kind: "delta", max: 3 })).meets).toBe(false);
  });

  it("judges max/min targets without a baseline", () => {
    expect(evaluate(row(9.5, null, { kind: "max", max: 10 }))).toMatchObject({ ratio: null, delta: null, meets: true });
    expect(evaluate(row(40, null, { kind: "min", min: 50 })).meets).toBe(false);
  });

  it("reports no verdict without a target or without the baseline a relative target needs", () => {
    expect(evaluate(row(1, 1, null)).meets).toBeNull();
    expect(evaluate(row(1, null, { kind: "ratio", max: 2 })).meets).toBeNull();
    expect(evaluate(row(1, 0, { kind: "ratio", max: 2 })).ratio).toBeNull();
  });
});

describe("formatting", () => {
  it("prints integers as they are and other numbers to about 3 significant digits", () => {
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(0.14234)).toBe("0.142");
    expect(formatNumber(9.8123)).toBe("9.81");
    expect(formatNumber(181.26)).toBe("181.3");
    expect(formatNumber(12345.6)).toBe("12346");
    expect(formatNumber(null)).toBe("-");
    expect(formatNumber(NaN)).toBe("-");
  });

  it("names targets with their unit", () => {
    expect(formatTarget({ kind: "ratio", max: 1.1 }, "ms")).toBe("<= 1.10x");
    expect(formatTarget({ kind: "minRatio", min: 0.6 }, "ops/s")).toBe(">= 0.60x");
    expect(formatTarget({ kind: "delta", max: 3 }, "ms")).toBe("<= +3 ms");
    expect(formatTarget({ kind: "min", min: 50 }, "ops/s")).toBe(">= 50 ops/s");
    expect(formatTarget(null, "ms")).toBe("-");
  });

  it("prints a table with a verdict column and the notes", () => {
    const text = formatTable("driver", [evaluate({ metric: "pause p50", unit: "ms", baseline: 9, corral: 13, target: { kind: "delta", max: 3 } })], ["a note"]);
    const lines = text.split("\n");
    expect(lines[0]).toBe("== driver");
    expect(lines[1]).toMatch(/^metric\s+unit\s+baseline\s+corral\s+ratio\s+delta\s+target\s+meets$/);
    expect(lines[3]).toMatch(/^pause p50\s+ms\s+9\s+13\s+1\.44x\s+\+4\s+<= \+3 ms\s+NO$/);
    expect(lines[4]).toBe("  note: a note");
  });
});

describe("measure", () => {
  it("interleaves the sides, alternating which goes first, and drops warm-up rounds", async () => {
    const order: string[] = [];
    const probe = (side: string) => async (recorded: boolean) => {
      order.push(`${side}${recorded ? "" : "*"}`);
      return side === "b" ? 1 : 2;
    };
    const paired = await alternate(3, 1, probe("b"), probe("c"));
    expect(order).toEqual(["b*", "c*", "c", "b", "b", "c", "c", "b"]);
    expect(paired).toEqual({ baseline: [1, 1, 1], corral: [2, 2, 2] });
  });

  it("with three probes, each goes first and runs right after each other one equally often", async () => {
    const order: string[] = [];
    const probe = (side: string) => async (recorded: boolean) => {
      if (recorded) order.push(side);
      return side.charCodeAt(0);
    };
    const samples = await alternateAll(6, 2, [probe("a"), probe("b"), probe("c")]);
    expect(samples.map((s) => s.length)).toEqual([6, 6, 6]);
    expect(samples[1]).toEqual(Array(6).fill(98));
    const rounds = Array.from({ length: 6 }, (_, i) => order.slice(i * 3, i * 3 + 3).join(""));
    expect(rounds.map((r) => r[0]).sort().join("")).toBe("aabbcc");
    const follows = new Map<string, number>();
    for (const r of rounds) for (const pair of [r.slice(0, 2), r.slice(1, 3)]) follows.set(pair, (follows.get(pair) ?? 0) + 1);
    expect([...follows.values()]).toEqual(Array(6).fill(2));
  });

  it("times both steps of a cycle separately", async () => {
    const step = () => Promise.resolve();
    const [baseline, corral] = await alternateCycles(4, 2, [
      [step, step],
      [step, step],
    ]);
    expect(baseline!.first).toHaveLength(4);
    expect(corral!.second).toHaveLength(4);
    expect([...baseline!.first, ...corral!.second].every((ms) => ms >= 0)).toBe(true);
  });

  it("rows carry p50 and p99 and the targets given", () => {
    const { rows } = latencyRows("op", { baseline: [1, 2, 3], corral: [2, 3, 4] }, { p50: { kind: "ratio", max: 2 } });
    expect(rows.map((r) => [r.metric, r.baseline, r.corral, r.target?.kind ?? null])).toEqual([
      ["op p50", 2, 3, "ratio"],
      ["op p99", 3, 4, null],
    ]);
  });

  it("reports the statistics asked for", () => {
    const { rows } = latencyRows("op", { baseline: [1, 2, 3], corral: [2, 3, 9] }, { p99: { kind: "max", max: 5 } }, { stats: ["p50", "p99", "max"] });
    expect(rows.map((r) => [r.metric, r.corral, r.target?.kind ?? null])).toEqual([
      ["op p50", 3, null],
      ["op p99", 9, "max"],
      ["op max", 9, null],
    ]);
  });

  it("adds the median of per-round differences when p50 has a delta target", () => {
    const { rows } = latencyRows("pause", { baseline: [10, 30, 12], corral: [13, 20, 16] }, { p50: { kind: "delta", max: 3 } });
    expect(rows[2]).toEqual({ metric: "pause paired delta p50", unit: "ms", baseline: null, corral: 3, target: null });
  });

  it("a closed loop runs every operation once, never more than `concurrency` at a time", async () => {
    let inFlight = 0;
    let peak = 0;
    const seen: number[] = [];
    const result = await closedLoop(3, 10, async (i) => {
      peak = Math.max(peak, ++inFlight);
      seen.push(i);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
    });
    expect(seen.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(peak).toBe(3);
    expect(result.latencies).toHaveLength(10);
    expect(result.perSecond).toBeGreaterThan(0);
  });
});
