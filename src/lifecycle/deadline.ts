/**
 * Deadline rules (DESIGN.md, "Lifecycle", deadline rules): pure functions, no
 * I/O and no clock. `now` is always a parameter so the rules are testable and
 * so one decision uses one instant. Every function returns a new record and
 * never mutates its argument.
 *
 * Invariants every function keeps:
 * - no deadline is ever set past `startedAt + maxLifetimeMs` (the ceiling);
 * - `endAt` is null when `expiration = "manual"`, while `paused`, and before
 *   the sandbox has started;
 * - numbers are validated here (integers of ms in range), never coerced: the
 *   traps "timeout -1 became expired 1 s ago" and "an omitted refresh
 *   duration became 0" are closed at this edge.
 */
import type { CorralConfig } from "../config.js";
import { ConflictError, InvalidArgumentError } from "../errors.js";
import { REFRESH_DEFAULT_MS, REFRESH_MAX_MS } from "../schema/requests.js";
import type { SandboxRecord } from "../schema/record.js";

/** The server settings the deadline rules depend on (a subset of {@link CorralConfig}). */
export type DeadlineLimits = Pick<CorralConfig, "defaultTimeoutMs" | "maxTimeoutMs" | "maxLifetimeMs">;

/** The record fields the deadline rules read and write. */
export type DeadlineFields = Pick<
  SandboxRecord,
  "state" | "startedAt" | "endAt" | "lastActiveAt" | "timeoutMs" | "expiration" | "lifecycle"
>;

/** Answer of `set_timeout`/`refresh` on a manual sandbox (contract wording). */
export const NO_EXPIRATION_MESSAGE = "sandbox has no automatic expiration";

/** Options of {@link validateTimeoutMs}. */
export interface TimeoutValidation {
  /** `set_timeout` accepts 0 (= expire now); create/resume/connect do not. @default false */
  allowZero?: boolean;
  /** Field named in the error message. @default "timeoutMs" */
  field?: string;
}

function describe(value: unknown): string {
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  return value === null ? "null" : typeof value;
}

/** Integer ms in `min..max`, else `invalid_argument` naming `field`. */
function integerMs(value: unknown, min: number, max: number, field: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidArgumentError(
      `${field}: must be an integer number of milliseconds in ${min}..${max}, got ${describe(value)}`,
    );
  }
  return value;
}

/**
 * Validates a timeout: an integer of ms, `1..maxTimeoutMs` (create, resume,
 * connect) or `0..maxTimeoutMs` with `allowZero` (set_timeout). Rejects -1,
 * NaN, Infinity, floats, strings and anything above the maximum.
 * @throws InvalidArgumentError naming the field
 */
export function validateTimeoutMs(value: unknown, limits: DeadlineLimits, options: TimeoutValidation = {}): number {
  return integerMs(value, options.allowZero ? 0 : 1, limits.maxTimeoutMs, options.field ?? "timeoutMs");
}

/**
 * The `timeoutMs` of a create: `defaultTimeoutMs` when omitted (undefined),
 * else validated `1..maxTimeoutMs`. `null` is not "omitted": it is rejected.
 */
export function resolveCreateTimeoutMs(value: unknown, limits: DeadlineLimits): number {
  return value === undefined ? limits.defaultTimeoutMs : validateTimeoutMs(value, limits);
}

/**
 * The `durationMs` of a refresh: 60000 when omitted (undefined: never 0),
 * else validated `1..3600000`.
 */
export function resolveRefreshDurationMs(value: unknown, field = "durationMs"): number {
  return value === undefined ? REFRESH_DEFAULT_MS : integerMs(value, 1, REFRESH_MAX_MS, field);
}

/** The latest instant any deadline of this incarnation may have: `startedAt + maxLifetimeMs`. */
export function lifetimeCeiling(startedAt: number, limits: Pick<DeadlineLimits, "maxLifetimeMs">): number {
  return startedAt + limits.maxLifetimeMs;
}

/** `at` capped by the ceiling of a started record (before start, `now` stands in for `startedAt`). */
function capped(record: DeadlineFields, at: number, now: number, limits: DeadlineLimits): number {
  return Math.min(at, lifetimeCeiling(record.startedAt ?? now, limits));
}

/**
 * Start or resume (entering `running`): `startedAt = now` (the lifetime
 * ceiling restarts with each resume, as the contract's table says),
 * `lastActiveAt = now`, and `endAt = min(now + timeoutMs, now + maxLifetimeMs)`,
 * or null for manual expiration. `timeoutMs` replaces the stored one when given
 * (resume/connect with a timeout).
 */
export function startDeadline<R extends DeadlineFields>(record: R, now: number, limits: DeadlineLimits, timeoutMs?: number): R {
  const effectiveTimeoutMs = timeoutMs ?? record.timeoutMs;
  const endAt = record.expiration === "manual" ? null : Math.min(now + effectiveTimeoutMs, lifetimeCeiling(now, limits));
  return { ...record, timeoutMs: effectiveTimeoutMs, startedAt: now, lastActiveAt: now, endAt };
}

/**
 * The record as it is while `paused` (and from `killing` on): no deadline runs,
 * `endAt` is null. `timeoutMs` is kept for the next resume.
 */
export function clearDeadline<R extends DeadlineFields>(record: R): R {
  return { ...record, endAt: null };
}

/**
 * `set_timeout(timeoutMs)`: `endAt = min(now + timeoutMs, startedAt + maxLifetimeMs)`.
 * May shorten; 0 expires the sandbox now. `timeoutMs` is persisted too, so a
 * later resume (and idle activity) uses the new value: the client's latest
 * word on "how long" wins everywhere. On a paused sandbox only `timeoutMs` is
 * stored and `endAt` stays null (contract, "Exact behaviours").
 * @throws ConflictError on a manual sandbox
 */
export function applySetTimeout<R extends DeadlineFields>(record: R, timeoutMs: number, now: number, limits: DeadlineLimits): R {
  if (record.expiration === "manual") throw new ConflictError(NO_EXPIRATION_MESSAGE);
  if (record.state === "paused") return { ...record, timeoutMs, endAt: null };
  return { ...record, timeoutMs, endAt: capped(record, now + timeoutMs, now, limits) };
}

/**
 * `refresh(durationMs)`: extend only, `endAt = max(endAt, now + durationMs)`,
 * capped by the ceiling (so a refresh never shortens, and never passes it).
 * On a paused sandbox it is a no-op (the same record is returned). `timeoutMs`
 * is not changed: refresh is a one-off extension.
 * @throws ConflictError on a manual sandbox
 */
export function applyRefresh<R extends DeadlineFields>(record: R, durationMs: number, now: number, limits: DeadlineLimits): R {
  if (record.expiration === "manual") throw new ConflictError(NO_EXPIRATION_MESSAGE);
  if (record.state === "paused") return record;
  const extended = capped(record, now + durationMs, now, limits);
  const endAt = record.endAt === null ? extended : Math.max(record.endAt, extended);
  return { ...record, endAt };
}

/**
 * Traffic seen at `at`: `lastActiveAt = max(lastActiveAt, at)` (batches may
 * arrive out of order). With `lifecycle.idle` on a running ttl sandbox the
 * deadline moves to `min(lastActiveAt + timeoutMs, startedAt + maxLifetimeMs)`
 * (CubeSandbox semantics, exactly as the contract words it): the idle window
 * is `timeoutMs`, so traffic after a longer `refresh` brings the deadline back
 * to `lastActiveAt + timeoutMs`; use `set_timeout` to change the window.
 * Without `idle` only `lastActiveAt` changes.
 */
export function applyActivity<R extends DeadlineFields>(record: R, at: number, limits: DeadlineLimits): R {
  const lastActiveAt = record.lastActiveAt === null ? at : Math.max(record.lastActiveAt, at);
  const moves = record.lifecycle.idle && record.expiration === "ttl" && record.state === "running";
  const endAt = moves ? capped(record, lastActiveAt + record.timeoutMs, at, limits) : record.endAt;
  return { ...record, lastActiveAt, endAt };
}

/** True when the record has a deadline and it has passed at `now`. */
export function isExpired(record: Pick<SandboxRecord, "endAt">, now: number): boolean {
  return record.endAt !== null && record.endAt <= now;
}
