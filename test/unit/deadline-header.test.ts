import { describe, expect, it } from "vitest";
import { headers as natsHeaders } from "@nats-io/nats-core";
import {
  DEADLINE_HEADER,
  DeadlinePassedError,
  boundedTimeout,
  currentDeadline,
  isExpired,
  parseDeadline,
  readDeadline,
  setDeadline,
  throwIfDeadlinePassed,
  withDeadline,
} from "../../src/deadline-header.js";
import { SerialQueue } from "../../src/serial-queue.js";
import { RETRY_SAFE_OPS, clientKey } from "../../src/client/client.js";

describe("request deadline header", () => {
  it("round-trips through the header, case-insensitively", () => {
    const h = setDeadline(1_700_000_000_123.7);
    expect(h.get(DEADLINE_HEADER)).toBe("1700000000123");
    expect(readDeadline(h)).toBe(1_700_000_000_123);
    const lower = natsHeaders();
    lower.set("corral-deadline", "42");
    expect(readDeadline(lower)).toBe(42);
  });

  it("ignores a missing or unreadable deadline (such a request is never dropped)", () => {
    expect(readDeadline(undefined)).toBeNull();
    const bad = natsHeaders();
    bad.set(DEADLINE_HEADER, "-5");
    expect(readDeadline(bad)).toBeNull();
    expect(isExpired(null)).toBe(false);
  });

  it("reads the same value from an HTTP header (the gateway's), or nothing", () => {
    expect(parseDeadline("1700000000123")).toBe(1_700_000_000_123);
    for (const bad of [undefined, null, "", "soon", "1e12", "-1", "12.5", "1".repeat(16)]) expect(parseDeadline(bad)).toBeNull();
  });

  it("is expired once now reaches it", () => {
    expect(isExpired(1000, 999)).toBe(false);
    expect(isExpired(1000, 1000)).toBe(true);
  });

  it("bounds forwarded waits by the deadline of the request being served", async () => {
    expect(boundedTimeout(60_000)).toBe(60_000);
    const now = Date.now();
    await withDeadline(now + 5_000, async () => {
      await Promise.resolve();
      expect(currentDeadline()).toBe(now + 5_000);
      expect(boundedTimeout(60_000, now)).toBe(5_000);
      expect(boundedTimeout(1_000, now)).toBe(1_000);
      expect(boundedTimeout(60_000, now + 9_000)).toBe(1);
    });
    expect(currentDeadline()).toBeNull();
  });
});

describe("a queued command's turn", () => {
  it("sees the deadline of the request that posted it, and is dropped once it has passed", async () => {
    const queue = new SerialQueue();
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    void queue.post(() => gate);
    const now = Date.now();
    const late = withDeadline(now + 1_000, () => queue.post(() => throwIfDeadlinePassed("kill x", now + 1_000)));
    const inTime = withDeadline(now + 1_000, () => queue.post(() => throwIfDeadlinePassed("kill y", now + 999)));
    const noDeadline = queue.post(() => throwIfDeadlinePassed("timer", now + 10_000_000));
    openGate();
    await expect(late).rejects.toBeInstanceOf(DeadlinePassedError);
    await expect(late).rejects.toMatchObject({ code: "unavailable" });
    await expect(inTime).resolves.toBeUndefined();
    await expect(noDeadline).resolves.toBeUndefined();
  });
});

describe("client retries", () => {
  it("retries only ops a second attempt cannot apply twice", () => {
    for (const op of ["get", "list", "create", "kill", "pause", "resume", "nodes", "drain"]) expect(RETRY_SAFE_OPS.has(op)).toBe(true);
    for (const op of ["set_timeout", "refresh", "connect"]) expect(RETRY_SAFE_OPS.has(op)).toBe(false);
  });

  it("gives every keyless create its own valid key", () => {
    const a = clientKey();
    expect(a).not.toBe(clientKey());
    expect(a.length).toBeLessThanOrEqual(256);
  });
});
