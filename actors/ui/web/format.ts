/** Pure formatting of durations and times for the views (no DOM: unit-tested). */

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * A duration as an operator reads it: `45s`, `4m 05s`, `2h 03m`, `3d 4h`.
 * Negative durations get a leading minus sign; sub-second ones read `0s`.
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "—";
  const sign = ms < 0 ? "−" : "";
  const total = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(total / 86_400);
  const hours = Math.floor((total % 86_400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  if (days > 0) return `${sign}${days}d ${hours}h`;
  if (hours > 0) return `${sign}${hours}h ${pad(minutes)}m`;
  if (minutes > 0) return `${sign}${minutes}m ${pad(seconds)}s`;
  return `${sign}${seconds}s`;
}

/** A signed change of a duration or deadline: `+5m 00s`, `−30s`. */
export function formatDelta(ms: number): string {
  return ms >= 0 ? `+${formatDuration(ms)}` : formatDuration(ms);
}

/** The time between two events: `+12ms` under a second, else like `formatDelta`. */
export function formatGap(ms: number): string {
  return Math.abs(ms) < 1000 ? `+${Math.round(ms)}ms` : formatDelta(ms);
}

/** What the deadline column says: time left to `endAt` at `now`, `expired`, or why there is none. */
export function formatTimeLeft(endAt: number | null, now: number, state: string, expiration: "ttl" | "manual"): string {
  if (state === "killed" || state === "killing") return "—";
  if (endAt === null) return expiration === "manual" ? "manual" : state === "paused" ? "paused" : "—";
  const left = endAt - now;
  return left <= 0 ? "expired" : formatDuration(left);
}

/** Local wall-clock time with milliseconds: `14:03:22.123`. */
export function formatClock(at: number): string {
  const d = new Date(at);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** Local date and time: `2025-01-31 14:03:22`. */
export function formatDateTime(at: number): string {
  const d = new Date(at);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** How long ago `at` was: `just now`, `12s ago`, `3m 02s ago`. */
export function formatAgo(at: number, now: number): string {
  const ms = now - at;
  return ms < 1000 ? "just now" : `${formatDuration(ms)} ago`;
}

/** Milliseconds as seconds for an input field (`300000` -> `300`). */
export function msToSeconds(ms: number): number {
  return Math.round(ms / 1000);
}
