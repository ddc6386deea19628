// Percentiles and medians for bench/proxy.mjs.

/** The p-th percentile (0..100) of `values`, nearest rank; NaN when empty. */
export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values) => percentile(values, 50);

/** `1.23` style, or `-` for NaN. */
export const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : "-");
