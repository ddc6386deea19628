// Reconciliation while the node runs (actors/node/reconcile-loop.ts): one pass
// every interval, one soon after a failed write and again with a doubling
// delay (capped) until a pass settles everything, and never two passes (or a
// pass and a single-record adoption) at once. Fake timers; the pass is a stub
// whose outcome each test decides.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ReconcileLoop } from "../../actors/node/reconcile-loop.js";
import { logger } from "../../src/log.js";

const T0 = Date.UTC(2030, 0, 1);

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function loop(outcomes: boolean[]) {
  const runs: number[] = [];
  const l = new ReconcileLoop({
    intervalMs: 60_000,
    retryBaseMs: 250,
    retryMaxMs: 1_000,
    log: logger("test"),
    pass: async () => {
      runs.push(Date.now() - T0);
      return outcomes.shift() ?? true;
    },
  });
  return { l, runs };
}

describe("ReconcileLoop", () => {
  it("passes every interval while everything settles", async () => {
    const { l, runs } = loop([]);
    l.start();
    await vi.advanceTimersByTimeAsync(180_000);
    expect(runs).toEqual([60_000, 120_000, 180_000]);
    await l.stop();
  });

  it("after a failed write: a pass soon, then a doubling delay (capped) until one settles everything, then the interval", async () => {
    const { l, runs } = loop([false, false, false, false, true]);
    l.start();
    l.soon();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toEqual([250, 500, 1_000, 2_000, 3_000]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(runs.at(-1)).toBe(63_000);
    await l.stop();
  });

  it("a pass asked for before the start (the start-up pass left a record unsettled) runs soon after it", async () => {
    const { l, runs } = loop([]);
    l.soon();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(runs).toEqual([]); // not running yet: nothing beside the start-up pass
    l.start();
    await vi.advanceTimersByTimeAsync(250);
    expect(runs).toEqual([1_250]);
    await l.stop();
  });

  it("soon never moves a pass later, and stop arms nothing more", async () => {
    const { l, runs } = loop([]);
    l.start();
    l.soon();
    l.soon();
    await vi.advanceTimersByTimeAsync(250);
    expect(runs).toEqual([250]);
    await l.stop();
    l.soon();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(runs).toEqual([250]);
  });

  it("runs an exclusive task only between passes", async () => {
    const order: string[] = [];
    let release!: () => void;
    const l = new ReconcileLoop({
      intervalMs: 1_000,
      retryBaseMs: 250,
      retryMaxMs: 1_000,
      log: logger("test"),
      pass: async () => {
        order.push("pass start");
        await new Promise<void>((r) => (release = r));
        order.push("pass end");
        return true;
      },
    });
    l.start();
    await vi.advanceTimersByTimeAsync(1_000);
    const adopted = l.exclusive(async () => void order.push("adopt"));
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(["pass start"]);
    release();
    await adopted;
    expect(order).toEqual(["pass start", "pass end", "adopt"]);
    const stopping = l.stop();
    release?.();
    await stopping;
  });
});
