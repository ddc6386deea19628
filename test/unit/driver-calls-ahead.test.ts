// Pause/resume calls started ahead of the machine's transition
// (actors/node/driver-calls-ahead.ts): started once, adopted once, a failure
// reaches whoever takes the call (and is not unhandled before that), a
// call nobody took is reported, and nothing starts without a handle.
import { describe, expect, it, vi } from "vitest";
import { DriverCallsAhead } from "../../actors/node/driver-calls-ahead.js";
import type { SandboxDriver } from "../../src/drivers/types.js";
import { InternalError } from "../../src/errors.js";
import { makeStoredSandbox } from "../helpers/records.js";

const ENDPOINT = { host: "172.17.0.5", ports: {} };

function fakeDriver(overrides: Partial<SandboxDriver> = {}) {
  return {
    pause: vi.fn(async () => {}),
    resume: vi.fn(async () => ENDPOINT),
    ...overrides,
  } as unknown as SandboxDriver & { pause: ReturnType<typeof vi.fn>; resume: ReturnType<typeof vi.fn> };
}

const record = () => makeStoredSandbox({ internal: { handle: "c0ffee", endpoint: ENDPOINT } });

describe("DriverCallsAhead", () => {
  it("starts the call at once and hands the same call over once", async () => {
    const driver = fakeDriver();
    const ahead = new DriverCallsAhead(driver, "freeze");
    const r = record();
    ahead.start(r, "resume");
    expect(driver.resume).toHaveBeenCalledWith("c0ffee", "freeze");
    await expect(ahead.takeResume(r.sandboxId)).resolves.toEqual(ENDPOINT);
    expect(ahead.takeResume(r.sandboxId)).toBeUndefined();
    expect(ahead.leftOver(r.sandboxId)).toBeNull();
    expect(driver.resume).toHaveBeenCalledTimes(1);
  });

  it("starts nothing twice for one sandbox, and nothing without a handle", () => {
    const driver = fakeDriver();
    const ahead = new DriverCallsAhead(driver, "stop");
    const r = record();
    ahead.start(r, "pause");
    ahead.start(r, "pause");
    ahead.start(makeStoredSandbox({ internal: { handle: null } }), "pause");
    expect(driver.pause).toHaveBeenCalledTimes(1);
    expect(driver.pause).toHaveBeenCalledWith("c0ffee", "stop");
  });

  it("keeps a failure for the taker (not unhandled meanwhile)", async () => {
    const unhandled = vi.fn();
    process.on("unhandledRejection", unhandled);
    try {
      const ahead = new DriverCallsAhead(fakeDriver({ pause: async () => Promise.reject(new Error("freezer busy")) }), "freeze");
      const r = record();
      ahead.start(r, "pause");
      await new Promise((resolve) => setImmediate(resolve));
      await expect(ahead.takePause(r.sandboxId)).rejects.toThrow("freezer busy");
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off("unhandledRejection", unhandled);
    }
  });

  it("reports a call that was not taken, and refuses to hand a pause to a resume", () => {
    const ahead = new DriverCallsAhead(fakeDriver(), "freeze");
    const a = record();
    ahead.start(a, "pause");
    expect(ahead.leftOver(a.sandboxId)).toBe("pause");
    expect(ahead.takePause(a.sandboxId)).toBeUndefined();
    const b = record();
    ahead.start(b, "pause");
    expect(() => ahead.takeResume(b.sandboxId)).toThrow(InternalError);
  });
});
