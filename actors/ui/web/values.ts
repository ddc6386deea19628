/** How record values read in the views: times as clock times, durations humanized, the rest as JSON. */
import { formatClock, formatDuration } from "./format.js";

const TIME_FIELDS = new Set(["createdAt", "startedAt", "endAt", "lastActiveAt"]);
const DURATION_FIELDS = new Set(["timeoutMs"]);

/** A record field's value as text (`path` is a diff path such as `endAt` or `metadata.user`). */
export function formatValue(path: string, value: unknown): string {
  if (value === undefined) return "—";
  if (value === null) return "null";
  if (TIME_FIELDS.has(path) && typeof value === "number") return formatClock(value);
  if (DURATION_FIELDS.has(path) && typeof value === "number") return `${formatDuration(value)} (${value} ms)`;
  if (path === "error" && typeof value === "object") {
    const e = value as { op?: string; message?: string; at?: number };
    return `${e.op ?? "?"}: ${e.message ?? ""}${typeof e.at === "number" ? ` at ${formatClock(e.at)}` : ""}`;
  }
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}
