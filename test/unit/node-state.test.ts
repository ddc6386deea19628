import { describe, expect, it } from "vitest";
import { nodeState } from "../../src/store/node-record.js";
import { makeNodeRecord } from "../helpers/records.js";

const LEASE = 1_000;
const GRACE = 5_000;
const base = makeNodeRecord({ heartbeatAt: 10_000 });

describe("nodeState", () => {
  it("is ready, or draining, while the lease holds, and lost after it", () => {
    expect(nodeState(base, 10_500, LEASE, GRACE)).toBe("ready");
    expect(nodeState({ ...base, drain: true }, 10_500, LEASE, GRACE)).toBe("draining");
    expect(nodeState(base, 11_001, LEASE, GRACE)).toBe("lost");
  });

  it("keeps a node stopped on purpose for the stop grace, past its lease", () => {
    const stopping = { ...base, stoppingAt: 10_000 };
    expect(nodeState(stopping, 14_999, LEASE, GRACE)).toBe("stopping");
    expect(nodeState({ ...stopping, drain: true }, 12_000, LEASE, GRACE)).toBe("stopping");
    expect(nodeState(stopping, 15_000, LEASE, GRACE)).toBe("lost");
  });
});
