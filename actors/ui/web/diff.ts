/**
 * What one record write changed: the fields that differ between a revision and
 * the one before it, flattened to paths (`lifecycle.onTimeout`,
 * `metadata.user`; `error` stays whole), with a note for deadlines (`endAt`
 * moved by +5m 00s). Pure (unit-tested).
 */
import type { WireRecord } from "../wire.js";
import { formatDelta } from "./format.js";

/** One changed field. `before` is undefined when the field did not exist (first revision, new metadata key). */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
  /** A human note, e.g. `moved by +5m 00s`. */
  note: string | null;
}

/** Fields whose change is implied by every write and would only add noise. */
const SKIPPED = new Set(["revision"]);
/** Epoch-ms fields: their change is a move in time. */
const TIMES = new Set(["createdAt", "startedAt", "endAt", "lastActiveAt"]);
/** Objects compared whole: `error` goes from null to `{op, message, at}` and back, one change each time. */
const ATOMIC = new Set(["error"]);

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === "object" && !Array.isArray(value) && !ATOMIC.has(prefix)) {
    const entries = Object.entries(value as Record<string, unknown>);
    // An empty object (no metadata) still shows as a value, so `{}` -> `{user: a}` reads as a change.
    if (entries.length === 0 && prefix !== "") out.set(prefix, {});
    for (const [k, v] of entries) flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
  } else {
    out.set(prefix, value);
  }
}

function noteFor(path: string, before: unknown, after: unknown): string | null {
  if (!TIMES.has(path)) return null;
  if (typeof before === "number" && typeof after === "number") return `moved by ${formatDelta(after - before)}`;
  if (before === null && typeof after === "number") return "set";
  if (typeof before === "number" && after === null) return "cleared";
  return null;
}

/** The changes from `before` to `after`, in `after`'s field order; every field of `after` when `before` is null. */
export function diffRecords(before: WireRecord | null, after: WireRecord): FieldChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before) flatten(before, "", a);
  flatten(after, "", b);
  const changes: FieldChange[] = [];
  const paths = [...b.keys(), ...[...a.keys()].filter((k) => !b.has(k))];
  for (const path of paths) {
    if (SKIPPED.has(path)) continue;
    const was = a.get(path);
    const now = b.get(path);
    if (before && JSON.stringify(was) === JSON.stringify(now)) continue;
    changes.push({ path, before: before ? was : undefined, after: now, note: before ? noteFor(path, was, now) : null });
  }
  return changes;
}
