// Traffic tokens and activity batches (issue 6): the kernel pieces the node shares with the proxy.
import { describe, expect, it } from "vitest";
import { decodeActivityBatch, encodeActivityBatch, validateActivityBatch } from "../../src/activity.js";
import { encodeMsgpack } from "../../src/codec.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { SandboxId } from "../../src/ids.js";
import { hashTrafficToken, newTrafficToken, trafficTokenMatches } from "../../src/traffic-token.js";

describe("traffic tokens", () => {
  it("are 32 random bytes in base64url, hashed with sha256 hex", () => {
    const t = newTrafficToken();
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(t, "base64url")).toHaveLength(32);
    expect(newTrafficToken()).not.toBe(t);
    expect(hashTrafficToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashTrafficToken("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("match only the right token", () => {
    const t = newTrafficToken();
    const h = hashTrafficToken(t);
    expect(trafficTokenMatches(t, h)).toBe(true);
    expect(trafficTokenMatches(t.slice(1), h)).toBe(false);
    expect(trafficTokenMatches(undefined, h)).toBe(false);
    expect(trafficTokenMatches("", hashTrafficToken(""))).toBe(false);
    expect(trafficTokenMatches(t, "not-a-hash")).toBe(false);
    expect(trafficTokenMatches(t, h.toUpperCase())).toBe(false);
  });
});

describe("activity batches", () => {
  const batch = { proxyId: "proxy-1", at: 1_700_000_000_000, items: [{ sandboxId: "abcdefghij0123456789" as SandboxId, lastActiveAt: 1_699_999_999_000, requests: 3 }] };

  it("round-trip through msgpack", () => {
    expect(decodeActivityBatch(encodeActivityBatch(batch))).toEqual(batch);
  });

  it.each([
    [{ ...batch, items: [{ ...batch.items[0], sandboxId: "BAD" }] }, "items.0.sandboxId"],
    [{ ...batch, items: [{ ...batch.items[0], requests: -1 }] }, "items.0.requests"],
    [{ ...batch, extra: 1 }, "extra"],
    [{ at: 1, items: [] }, "proxyId"],
  ])("reject an invalid batch (%#)", (raw, path) => {
    expect(() => validateActivityBatch(raw)).toThrow(InvalidArgumentError);
    expect(() => decodeActivityBatch(encodeMsgpack(raw))).toThrow(path);
  });

  it("reject bytes that are not msgpack", () => {
    expect(() => decodeActivityBatch(new Uint8Array([0xc1]))).toThrow(InvalidArgumentError);
  });
});
