// The `nodes` entry shape and its human table (pure).
import { describe, expect, it } from "vitest";
import { nodeEntry } from "../../src/api/cluster.js";
import { nodesTable } from "../../src/cli/cluster-commands.js";
import { makeNodeRecord } from "../helpers/records.js";

const record = makeNodeRecord({ nodeId: "node-2", driver: "docker", allocation: { cpu: 2, memoryMB: 1024, sandboxes: 3 }, counts: { running: 2, paused: 1 }, drain: true });

describe("cluster nodes", () => {
  it("lists every sandbox state (0 when none) plus warm, and nothing internal", () => {
    const entry = nodeEntry(record, "draining");
    expect(entry).toEqual({
      nodeId: "node-2",
      state: "draining",
      capacity: record.capacity,
      allocation: record.allocation,
      counts: { starting: 0, running: 2, pausing: 0, paused: 1, resuming: 0, killing: 0, killed: 0, warm: 0 },
    });
  });

  it("prints one line per node with its state and non-zero counts", () => {
    const text = nodesTable([nodeEntry(record, "draining")]);
    expect(text.split("\n")[0]).toMatch(/^NODE\s+STATE\s+CPU\s+MEMORY MiB\s+SANDBOXES\s+COUNTS$/);
    expect(text.split("\n")[1]).toMatch(/^node-2\s+draining\s+2\/8\s+1024\/4096\s+3\/100\s+running 2, paused 1$/);
    expect(nodesTable([])).toBe("no nodes");
  });

  it("counts the ready warm members of every pooled template as warm", () => {
    const entry = nodeEntry({ ...record, warm: { base: 2, python: 1 } }, "ready");
    expect(entry.counts.warm).toBe(3);
    expect(nodesTable([entry]).split("\n")[1]).toMatch(/running 2, paused 1, warm 3$/);
  });
});
