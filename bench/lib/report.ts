/**
 * Turning rows into the printed table: ratio and delta against the baseline,
 * the target, and whether it is met. Nothing here fails a run: targets are
 * reported, not asserted.
 */
import type { Row, Target } from "./types.js";

/** A row with what the runner derives from it. */
export interface EvaluatedRow extends Row {
  /** corral / baseline; null without a (non-zero) baseline. */
  ratio: number | null;
  /** corral - baseline; null without a baseline. */
  delta: number | null;
  /** Null when the row has no target or a number is missing. */
  meets: boolean | null;
}

/** Derives ratio, delta and whether the target is met. */
export function evaluate(row: Row): EvaluatedRow {
  const hasBaseline = row.baseline !== null && Number.isFinite(row.baseline);
  const ratio = hasBaseline && row.baseline !== 0 ? row.corral / row.baseline! : null;
  const delta = hasBaseline ? row.corral - row.baseline! : null;
  return { ...row, ratio, delta, meets: meets(row.target, row.corral, ratio, delta) };
}

function meets(target: Target | null, corral: number, ratio: number | null, delta: number | null): boolean | null {
  if (!target || !Number.isFinite(corral)) return null;
  switch (target.kind) {
    case "ratio":
      return ratio === null ? null : ratio <= target.max;
    case "minRatio":
      return ratio === null ? null : ratio >= target.min;
    case "delta":
      return delta === null ? null : delta <= target.max;
    case "max":
      return corral <= target.max;
    case "min":
      return corral >= target.min;
  }
}

/** Integers as they are; otherwise 3 significant-ish digits: 0.142, 9.81, 181.3, 12345. */
export function formatNumber(x: number | null): string {
  if (x === null || !Number.isFinite(x)) return "-";
  if (Number.isInteger(x)) return String(x);
  const abs = Math.abs(x);
  if (abs >= 1000) return x.toFixed(0);
  if (abs >= 100) return x.toFixed(1);
  if (abs >= 1) return x.toFixed(2);
  return x.toFixed(3);
}

/** "<= 1.10x", ">= 0.60x", "<= +3 ms", "<= 10 KiB", ">= 50 ops/s". */
export function formatTarget(target: Target | null, unit: string): string {
  if (!target) return "-";
  switch (target.kind) {
    case "ratio":
      return `<= ${target.max.toFixed(2)}x`;
    case "minRatio":
      return `>= ${target.min.toFixed(2)}x`;
    case "delta":
      return `<= +${target.max} ${unit}`;
    case "max":
      return `<= ${target.max} ${unit}`;
    case "min":
      return `>= ${target.min} ${unit}`;
  }
}

function signed(x: number | null): string {
  return x === null ? "-" : `${x >= 0 ? "+" : ""}${formatNumber(x)}`;
}

/** The suite's table, its notes underneath; plain text, fixed-width columns. */
export function formatTable(title: string, rows: readonly EvaluatedRow[], notes: readonly string[] = []): string {
  const header = ["metric", "unit", "baseline", "corral", "ratio", "delta", "target", "meets"];
  const body = rows.map((r) => [
    r.metric,
    r.unit,
    formatNumber(r.baseline),
    formatNumber(r.corral),
    r.ratio === null ? "-" : `${r.ratio.toFixed(2)}x`,
    signed(r.delta),
    formatTarget(r.target, r.unit),
    r.meets === null ? "-" : r.meets ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((cells) => cells[i]!.length)));
  // Text columns left-aligned, numbers right-aligned.
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 || i >= 6 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  const out = [`== ${title}`, line(header), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)];
  for (const note of notes) out.push(`  note: ${note}`);
  return out.join("\n");
}
