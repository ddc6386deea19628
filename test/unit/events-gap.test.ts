// revealsGap (src/events.ts): when an event shows that a consumer missed writes.
import { describe, expect, it } from "vitest";
import { revealsGap } from "../../src/events.js";

describe("revealsGap", () => {
  const held = { revision: 10, state: "running" as const };
  it("is true for a newer event whose from is not the held state", () => {
    expect(revealsGap({ from: "pausing", revision: 20 }, held)).toBe(true);
  });
  it("is false for the next write of the held state", () => {
    expect(revealsGap({ from: "running", revision: 20 }, held)).toBe(false);
  });
  it("is false for an old event, an unknown from, or nothing held", () => {
    expect(revealsGap({ from: "pausing", revision: 9 }, held)).toBe(false);
    expect(revealsGap({ from: null, revision: 20 }, held)).toBe(false);
    expect(revealsGap({ from: "pausing", revision: 20 }, undefined)).toBe(false);
  });
});
