// Deadline rules (DESIGN.md, "Lifecycle", deadline rules) and the number traps
// of "Known traps". Pure functions: `now` is a parameter; fake timers drive the
// scenarios where time passes between decisions.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConflictError, InvalidArgumentError } from "../../src/errors.js";
import { backoffMs } from "../../src/lifecycle/backoff.js";
import {
  applyActivity,
  applyRefresh,
  applySetTimeout,
  clearDeadline,
  isExpired,
  lifetimeCeiling,
  resolveCreateTimeoutMs,
  resolveRefreshDurationMs,
  startDeadline,
  validateTimeoutMs,
  type DeadlineFields,
  type DeadlineLimits,
} from "../../src/lifecycle/deadline.js";

const LIMITS: DeadlineLimits = { defaultTimeoutMs: 300_000, maxTimeoutMs: 86_400_000, maxLifetimeMs: 86_400_000 };
const SHORT_LIFE: DeadlineLimits = { ...LIMITS, maxLifetimeMs: 600_000 };
const T0 = Date.UTC(2030, 0, 1);

function running(overrides: Partial<DeadlineFields> = {}): DeadlineFields {
  return {
    state: "running",
    startedAt: T0,
    endAt: T0 + 300_000,
    lastActiveAt: T0,
    timeoutMs: 300_000,
    expiration: "ttl",
    lifecycle: { onTimeout: "kill", autoResume: false, idle: false },
    ...overrides,
  };
}

function invalid(fn: () => unknown, field: string) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).code).toBe("invalid_argument");
    expect((err as Error).message).toContain(field);
    return;
  }
  throw new Error("expected invalid_argument");
}

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe("validation of every number (trap: timeout -1 became 'expired 1 s ago')", () => {
  it.each([-1, 0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 1.5, "300000", null, true, {}, 86_400_001])(
    "create/resume timeoutMs rejects %s with invalid_argument naming the field",
    (value) => invalid(() => validateTimeoutMs(value, LIMITS), "timeoutMs"),
  );

  it("create/resume accepts 1..maxTimeoutMs", () => {
    expect(validateTimeoutMs(1, LIMITS)).toBe(1);
    expect(validateTimeoutMs(86_400_000, LIMITS)).toBe(86_400_000);
  });

  it("set_timeout accepts 0 (expire now) but still rejects -1, floats and > max", () => {
    expect(validateTimeoutMs(0, LIMITS, { allowZero: true })).toBe(0);
    for (const bad of [-1, 0.5, 86_400_001, Number.NaN]) invalid(() => validateTimeoutMs(bad, LIMITS, { allowZero: true }), "timeoutMs");
  });

  it("names the field it was given and the accepted range", () => {
    expect(() => validateTimeoutMs(-1, LIMITS, { field: "lifecycle.timeoutMs" })).toThrow(/lifecycle\.timeoutMs: .* 1\.\.86400000, got -1/);
  });

  it("create without timeoutMs uses defaultTimeoutMs; null is not 'omitted'", () => {
    expect(resolveCreateTimeoutMs(undefined, LIMITS)).toBe(300_000);
    expect(resolveCreateTimeoutMs(5_000, LIMITS)).toBe(5_000);
    invalid(() => resolveCreateTimeoutMs(null, LIMITS), "timeoutMs");
  });
});

describe("refresh duration (trap: an omitted refresh duration became 0)", () => {
  it("omitted durationMs is 60000, never 0", () => {
    expect(resolveRefreshDurationMs(undefined)).toBe(60_000);
  });

  it.each([0, -1, 3_600_001, Number.NaN, 1.5, "60000", null])("rejects %s with invalid_argument naming durationMs", (value) =>
    invalid(() => resolveRefreshDurationMs(value), "durationMs"),
  );

  it("accepts 1..3600000", () => {
    expect(resolveRefreshDurationMs(1)).toBe(1);
    expect(resolveRefreshDurationMs(3_600_000)).toBe(3_600_000);
  });
});

describe("start and resume", () => {
  it("startedAt = now, endAt = now + timeoutMs, lastActiveAt = now", () => {
    const r = startDeadline(running({ startedAt: null, endAt: null }), Date.now(), LIMITS);
    expect(r).toMatchObject({ startedAt: T0, endAt: T0 + 300_000, lastActiveAt: T0, timeoutMs: 300_000 });
  });

  it("a resume restarts startedAt and the lifetime ceiling, and takes a new timeoutMs", () => {
    vi.advanceTimersByTime(3_600_000);
    const r = startDeadline(running({ state: "paused", endAt: null }), Date.now(), LIMITS, 120_000);
    expect(r).toMatchObject({ startedAt: T0 + 3_600_000, endAt: T0 + 3_600_000 + 120_000, timeoutMs: 120_000 });
  });

  it("endAt never passes now + maxLifetimeMs", () => {
    const r = startDeadline(running(), T0, SHORT_LIFE, 86_400_000);
    expect(r.endAt).toBe(T0 + 600_000);
  });

  it("manual expiration: endAt stays null, timeoutMs is stored (also after a resume)", () => {
    const r = startDeadline(running({ expiration: "manual", endAt: null }), T0, LIMITS, 42_000);
    expect(r).toMatchObject({ endAt: null, timeoutMs: 42_000, startedAt: T0 });
  });
});

describe("set_timeout", () => {
  it("endAt = now + timeoutMs, and it may shorten", () => {
    vi.advanceTimersByTime(10_000);
    const r = applySetTimeout(running({ endAt: T0 + 300_000 }), 5_000, Date.now(), LIMITS);
    expect(r.endAt).toBe(T0 + 15_000);
    expect(r.timeoutMs).toBe(5_000);
  });

  it("0 expires the sandbox now", () => {
    const now = Date.now();
    const r = applySetTimeout(running(), 0, now, LIMITS);
    expect(r.endAt).toBe(now);
    expect(isExpired(r, now)).toBe(true);
  });

  it("is capped at startedAt + maxLifetimeMs (the ceiling counts from startedAt, not now)", () => {
    vi.advanceTimersByTime(500_000);
    const r = applySetTimeout(running(), 86_400_000, Date.now(), SHORT_LIFE);
    expect(r.endAt).toBe(lifetimeCeiling(T0, SHORT_LIFE));
    expect(r.endAt).toBe(T0 + 600_000);
  });

  it("on a manual sandbox is conflict 'sandbox has no automatic expiration'", () => {
    expect(() => applySetTimeout(running({ expiration: "manual", endAt: null }), 1_000, T0, LIMITS)).toThrow(ConflictError);
    expect(() => applySetTimeout(running({ expiration: "manual", endAt: null }), 1_000, T0, LIMITS)).toThrow("sandbox has no automatic expiration");
  });

  it("on a paused sandbox stores timeoutMs for the next resume and keeps endAt null", () => {
    const paused = applySetTimeout(running({ state: "paused", endAt: null }), 90_000, T0, LIMITS);
    expect(paused).toMatchObject({ state: "paused", endAt: null, timeoutMs: 90_000 });
    vi.advanceTimersByTime(1_000_000);
    expect(startDeadline(paused, Date.now(), LIMITS).endAt).toBe(Date.now() + 90_000);
  });
});

describe("refresh", () => {
  it("extends: endAt = max(endAt, now + durationMs)", () => {
    vi.advanceTimersByTime(290_000);
    const r = applyRefresh(running(), 60_000, Date.now(), LIMITS);
    expect(r.endAt).toBe(T0 + 350_000);
    expect(r.timeoutMs).toBe(300_000);
  });

  it("never shortens", () => {
    const r = applyRefresh(running({ endAt: T0 + 3_000_000 }), 60_000, T0, LIMITS);
    expect(r.endAt).toBe(T0 + 3_000_000);
  });

  it("is capped at startedAt + maxLifetimeMs", () => {
    vi.advanceTimersByTime(590_000);
    const r = applyRefresh(running(), 3_600_000, Date.now(), SHORT_LIFE);
    expect(r.endAt).toBe(T0 + 600_000);
  });

  it("on a manual sandbox is conflict", () => {
    expect(() => applyRefresh(running({ expiration: "manual", endAt: null }), 60_000, T0, LIMITS)).toThrow(ConflictError);
  });

  it("on a paused sandbox is a no-op (the same record)", () => {
    const paused = running({ state: "paused", endAt: null });
    expect(applyRefresh(paused, 60_000, T0, LIMITS)).toBe(paused);
  });
});

describe("idle activity", () => {
  const idle = { onTimeout: "kill", autoResume: false, idle: true } as const;

  it("with idle, traffic moves endAt to lastActiveAt + timeoutMs", () => {
    vi.advanceTimersByTime(200_000);
    const r = applyActivity(running({ lifecycle: idle }), Date.now(), LIMITS);
    expect(r).toMatchObject({ lastActiveAt: T0 + 200_000, endAt: T0 + 500_000 });
  });

  it("out-of-order batches never move lastActiveAt back", () => {
    const r = applyActivity(running({ lifecycle: idle, lastActiveAt: T0 + 50_000 }), T0 + 10_000, LIMITS);
    expect(r.lastActiveAt).toBe(T0 + 50_000);
    expect(r.endAt).toBe(T0 + 350_000);
  });

  it("idle deadlines are capped at startedAt + maxLifetimeMs", () => {
    const r = applyActivity(running({ lifecycle: idle }), T0 + 500_000, SHORT_LIFE);
    expect(r.endAt).toBe(T0 + 600_000);
  });

  it("without idle, traffic only updates lastActiveAt (absolute deadline)", () => {
    const r = applyActivity(running(), T0 + 200_000, LIMITS);
    expect(r).toMatchObject({ lastActiveAt: T0 + 200_000, endAt: T0 + 300_000 });
  });

  it("never arms a deadline on a manual or paused sandbox", () => {
    expect(applyActivity(running({ lifecycle: idle, expiration: "manual", endAt: null }), T0 + 1, LIMITS).endAt).toBeNull();
    expect(applyActivity(running({ lifecycle: idle, state: "paused", endAt: null }), T0 + 1, LIMITS).endAt).toBeNull();
  });
});

describe("paused and expiry", () => {
  it("while paused endAt is null", () => {
    expect(clearDeadline(running()).endAt).toBeNull();
  });

  it("isExpired: only a deadline that has passed; null never expires", () => {
    expect(isExpired({ endAt: T0 }, T0)).toBe(true);
    expect(isExpired({ endAt: T0 + 1 }, T0)).toBe(false);
    expect(isExpired({ endAt: null }, Number.MAX_SAFE_INTEGER)).toBe(false);
  });
});

describe("backoff", () => {
  it("is 0 before any failure, then exponential from baseMs, capped at maxMs", () => {
    expect([0, 1, 2, 3, 4, 7, 8, 1000].map((n) => backoffMs(n))).toEqual([0, 500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
    expect(backoffMs(3, { baseMs: 10, maxMs: 25 })).toBe(25);
  });
});
