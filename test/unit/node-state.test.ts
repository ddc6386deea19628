import { describe, expect, it } from "vitest";
import { nodeState, type NodeRecord } from "../../src/store/node-record.js";
import type { NodeId } from "../../src/ids.js";

const LEASE = 1_000;
const GRACE = 5_000;
const base: NodeRecord = {
  nodeId: "n" as NodeId,
  version: "t",
  address: null,
  driver: "process",
  pauseMode: "freeze",
  startedAt: 0,
  heartbeatAt: 10_000,
  capacity: { cpu: 1, memoryMB: 1, sandboxes: 1 },
  allocation: { cpu: 0, memoryMB: 0, sandboxes: 0 },
  counts: {},
};

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
