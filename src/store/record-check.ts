/**
 * The schema check of a record about to be written, at the cost of what
 * changed. A transition rewrites a few fields (state, deadline, error, a
 * counter); the rest of the record is the same values, by reference, as a
 * record that was already checked. So a record decided from a checked base
 * is checked field by field, and only the fields that are not identical to
 * the base's go through the schema; anything else gets the whole schema.
 *
 * "Checked" is tracked per object (a WeakSet), never assumed from the
 * caller: a record decoded from the KV, or one that passed this check, is
 * marked; records are values (the machine and the store build new objects,
 * never edit one in place), so a marked object keeps its fields.
 *
 * Why: the full schema costs ~10 µs per record hot and ~100 µs right after
 * an engine call (cold caches), on the path between the driver's answer and
 * the reply (docs/performance.md).
 */
import { SandboxInternalSchema, StoredSandboxSchema, type StoredSandbox } from "../schema/record.js";

type Shape = Record<string, { safeParse(value: unknown): { success: true } | { success: false; error: { message: string } } }>;

const RECORD_SHAPE = StoredSandboxSchema.shape as unknown as Shape;
const INTERNAL_SHAPE = SandboxInternalSchema.shape as unknown as Shape;
const RECORD_KEYS = Object.keys(RECORD_SHAPE);
const INTERNAL_KEYS = Object.keys(INTERNAL_SHAPE);

const checked = new WeakSet<object>();

/** Marks a record as having passed the schema (decoded from the KV, or checked here). */
export function markChecked(record: StoredSandbox): StoredSandbox {
  checked.add(record);
  checked.add(record.internal);
  return record;
}

/** The record with a new revision (a valid KV revision), still marked if it was. */
export function withRevision(record: StoredSandbox, revision: number): StoredSandbox {
  const next = { ...record, revision };
  if (checked.has(record) && Number.isSafeInteger(revision) && revision >= 0) markChecked(next);
  return next;
}

/** Problems of the fields of `value` that differ from `base` (both objects of `shape`), or null. */
function changedFieldProblems(shape: Shape, keys: string[], value: Record<string, unknown>, base: Record<string, unknown>, path: string): string | null {
  let own = 0;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (!Object.hasOwn(shape, key)) return `${path}${key}: unknown field`;
    own++;
  }
  if (own !== keys.length) return `${path}: missing fields`;
  for (const key of keys) {
    const field = value[key];
    if (field === base[key]) continue;
    if (key === "internal" && shape === RECORD_SHAPE && isObject(field) && isObject(base.internal) && checked.has(base.internal)) {
      const problem = changedFieldProblems(INTERNAL_SHAPE, INTERNAL_KEYS, field, base.internal, "internal.");
      if (problem) return problem;
      continue;
    }
    const result = shape[key]!.safeParse(field);
    if (!result.success) return `${path}${key}: ${result.error.message}`;
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Why `record` is not a valid stored record, or null. With a `base` that was
 * checked, only the fields that differ from it are run through the schema.
 */
export function recordProblem(record: StoredSandbox, base?: StoredSandbox): string | null {
  if (checked.has(record)) return null;
  if (base !== undefined && checked.has(base) && isObject(record)) {
    const problem = changedFieldProblems(RECORD_SHAPE, RECORD_KEYS, record as unknown as Record<string, unknown>, base as unknown as Record<string, unknown>, "");
    if (problem === null) markChecked(record);
    return problem;
  }
  const parsed = StoredSandboxSchema.safeParse(record);
  if (!parsed.success) return parsed.error.message;
  markChecked(record);
  return null;
}
