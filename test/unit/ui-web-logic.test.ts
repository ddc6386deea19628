// Pure logic of the visualizer's browser app (actors/ui/web): formatting,
// filters, record diffs, the browser's cluster state and chart geometry.
import { describe, expect, it } from "vitest";
import type { WireEvent, WireRecord } from "../../actors/ui/wire.js";
import { matchingLines, roundedPath } from "../../actors/ui/web/chart-geometry.js";
import { diffRecords } from "../../actors/ui/web/diff.js";
import { filterFromQuery, filterToQuery, matchesFilter, NO_FILTER, parseMetadataTerms, STATES } from "../../actors/ui/web/filters.js";
import { formatAgo, formatDelta, formatDuration, formatGap, formatTimeLeft } from "../../actors/ui/web/format.js";
import { ClusterState, type Change } from "../../actors/ui/web/state.js";
import { SANDBOX_STATES, toPublicRecord } from "../../src/schema/record.js";
import { makeStoredSandbox } from "../helpers/records.js";

const T = Date.UTC(2030, 0, 1, 12, 0, 0);

function record(overrides: Partial<WireRecord> = {}): WireRecord {
  return { ...toPublicRecord(makeStoredSandbox({ createdAt: T, startedAt: T, endAt: T + 300_000, lastActiveAt: T })), ...overrides };
}

function eventOf(r: WireRecord, from: WireRecord["state"] | null, name: string): WireEvent {
  return { sandboxId: r.sandboxId, from, to: r.state, event: name, revision: r.revision, at: T, nodeId: r.nodeId, record: r };
}

describe("format", () => {
  it.each([
    [0, "0s"],
    [999, "0s"],
    [45_000, "45s"],
    [245_000, "4m 05s"],
    [3_600_000 + 180_000, "1h 03m"],
    [3 * 86_400_000 + 4 * 3_600_000, "3d 4h"],
    [-30_000, "−30s"],
  ])("formatDuration(%i) = %s", (ms, text) => expect(formatDuration(ms)).toBe(text));

  it("formatDelta signs the change; formatGap shows milliseconds under a second", () => {
    expect(formatDelta(300_000)).toBe("+5m 00s");
    expect(formatDelta(-61_000)).toBe("−1m 01s");
    expect(formatGap(22)).toBe("+22ms");
    expect(formatGap(61_000)).toBe("+1m 01s");
  });

  it("formatTimeLeft counts down to endAt and names why there is no deadline", () => {
    expect(formatTimeLeft(T + 61_500, T, "running", "ttl")).toBe("1m 01s");
    expect(formatTimeLeft(T - 1, T, "running", "ttl")).toBe("expired");
    expect(formatTimeLeft(null, T, "paused", "ttl")).toBe("paused");
    expect(formatTimeLeft(null, T, "running", "manual")).toBe("manual");
    expect(formatTimeLeft(T + 1000, T, "killed", "ttl")).toBe("—");
  });

  it("formatAgo", () => {
    expect(formatAgo(T - 200, T)).toBe("just now");
    expect(formatAgo(T - 12_000, T)).toBe("12s ago");
  });
});

describe("filters", () => {
  it("STATES mirrors the contract's states in order", () => {
    expect(STATES).toEqual(SANDBOX_STATES);
  });

  it("parses metadata terms: key=value, bare keys, commas or spaces; refuses an empty key", () => {
    expect(parseMetadataTerms(" user=alice, team  job=a=b ")).toEqual({
      terms: [
        { key: "user", value: "alice" },
        { key: "team", value: null },
        { key: "job", value: "a=b" },
      ],
    });
    expect(parseMetadataTerms("=alice")).toEqual({ error: '"=alice": expected key=value or key' });
  });

  it("matches by state, node and metadata (all must hold)", () => {
    const r = record({ state: "paused", nodeId: "node-2", metadata: { user: "alice", team: "ml" } });
    expect(matchesFilter(r, NO_FILTER)).toBe(true);
    expect(matchesFilter(r, { ...NO_FILTER, states: ["running", "paused"] })).toBe(true);
    expect(matchesFilter(r, { ...NO_FILTER, states: ["running"] })).toBe(false);
    expect(matchesFilter(r, { ...NO_FILTER, node: "node-1" })).toBe(false);
    expect(matchesFilter(r, { ...NO_FILTER, metadataText: "user=alice team" })).toBe(true);
    expect(matchesFilter(r, { ...NO_FILTER, metadataText: "user=bob" })).toBe(false);
    expect(matchesFilter(r, { ...NO_FILTER, metadataText: "owner" })).toBe(false);
    // An invalid filter shows nothing rather than everything.
    expect(matchesFilter(r, { ...NO_FILTER, metadataText: "=x" })).toBe(false);
  });

  it("round-trips through the URL query, dropping unknown states", () => {
    const filter = { states: ["paused", "running"] as WireRecord["state"][], node: "node-1", metadataText: "user=alice" };
    const query = filterToQuery(filter);
    expect(query.toString()).toBe("state=running%2Cpaused&node=node-1&meta=user%3Dalice");
    expect(filterFromQuery(query)).toEqual({ ...filter, states: ["running", "paused"] });
    expect(filterFromQuery(new URLSearchParams("state=running,bogus"))).toEqual({ states: ["running"], node: null, metadataText: "" });
    expect(filterToQuery(NO_FILTER).toString()).toBe("");
  });
});

describe("diffRecords", () => {
  it("names what a set_timeout changed, with the move of endAt", () => {
    const before = record({ revision: 3 });
    const after = { ...before, revision: 4, timeoutMs: 600_000, endAt: before.endAt! + 300_000 };
    expect(diffRecords(before, after)).toEqual([
      { path: "endAt", before: before.endAt, after: after.endAt, note: "moved by +5m 00s" },
      { path: "timeoutMs", before: 300_000, after: 600_000, note: null },
    ]);
  });

  it("flattens nested fields, keeps error whole, and reports added and removed metadata keys", () => {
    const before = record({ metadata: { user: "alice" } });
    const error = { op: "pause", message: "boom", at: T };
    const after = { ...before, lifecycle: { ...before.lifecycle, onTimeout: "pause" as const }, metadata: { team: "ml" }, error, endAt: null };
    expect(diffRecords(before, after)).toEqual([
      { path: "endAt", before: before.endAt, after: null, note: "cleared" },
      { path: "lifecycle.onTimeout", before: "kill", after: "pause", note: null },
      { path: "metadata.team", before: undefined, after: "ml", note: null },
      { path: "error", before: null, after: error, note: null },
      { path: "metadata.user", before: "alice", after: undefined, note: null },
    ]);
  });

  it("lists the whole first record (no before) and nothing for an identical one", () => {
    const r = record();
    const first = diffRecords(null, r);
    expect(first.map((c) => c.path)).toContain("sandboxId");
    expect(first.every((c) => c.before === undefined && c.note === null)).toBe(true);
    expect(first.map((c) => c.path)).not.toContain("revision");
    expect(diffRecords(r, { ...r, revision: r.revision + 1 })).toEqual([]);
  });
});

describe("ClusterState", () => {
  const snapshot = (sandboxes: WireRecord[], serverTime = T) => ({ serverTime, clusterId: "abcdefghijkl", nats: "connected" as const, nodes: [], sandboxes, nodeLeaseMs: 15_000 });

  it("applies an event only when its revision is newer than the one held", () => {
    const state = new ClusterState();
    const changes: Change[] = [];
    state.subscribe((c) => changes.push(c));
    const r = record({ revision: 5 });
    state.applySnapshot(snapshot([r]), T);
    expect(state.applyTransition(eventOf({ ...r, revision: 5, state: "paused" }, "running", "paused"))).toBe(false);
    expect(state.applyTransition(eventOf({ ...r, revision: 4, state: "paused" }, "running", "paused"))).toBe(false);
    expect(state.records.get(r.sandboxId)!.state).toBe("running");
    expect(state.applyTransition(eventOf({ ...r, revision: 6, state: "pausing" }, "running", "pause"))).toBe(true);
    expect(state.records.get(r.sandboxId)!.state).toBe("pausing");
    expect(changes.map((c) => c.kind)).toEqual(["snapshot", "transition"]);
  });

  it("keeps a newer record than the snapshot's, drops records the snapshot no longer has", () => {
    const state = new ClusterState();
    const a = record({ revision: 10 });
    const b = record({ revision: 11 });
    state.applySnapshot(snapshot([a, b]), T);
    state.applyTransition(eventOf({ ...a, revision: 12, state: "pausing" }, "running", "pause"));
    state.applySnapshot(snapshot([{ ...a, revision: 10 }]), T);
    expect([...state.records.keys()]).toEqual([a.sandboxId]);
    expect(state.records.get(a.sandboxId)!.revision).toBe(12);
  });

  it("estimates the server's clock from the snapshot", () => {
    const state = new ClusterState();
    state.applySnapshot(snapshot([], T + 5_000), T);
    expect(state.now(T + 1_000)).toBe(T + 6_000);
  });

  it("reports the connection: connecting, live, reconnecting to the server or to NATS", () => {
    const state = new ClusterState();
    expect(state.connection).toBe("connecting");
    state.setStreamOpen(true);
    expect(state.connection).toBe("connecting");
    state.applySnapshot(snapshot([]), T);
    expect(state.connection).toBe("live");
    state.setNats("reconnecting");
    expect(state.connection).toBe("reconnecting-nats");
    state.setNats("connected");
    state.setStreamOpen(false);
    expect(state.connection).toBe("reconnecting-ui");
  });

  it("tracks nodes and their leases", () => {
    const state = new ClusterState();
    state.applySnapshot(snapshot([]), T);
    const node = { nodeId: "n1", version: "1", address: null, driver: "process" as const, pauseMode: "freeze" as const, startedAt: T, heartbeatAt: T, capacity: { cpu: 1, memoryMB: 1, sandboxes: 1 }, allocation: { cpu: 0, memoryMB: 0, sandboxes: 0 }, counts: {} };
    state.applyNode({ nodeId: "n1", node });
    expect(state.isLeaseExpired(node, T + 15_000)).toBe(false);
    expect(state.isLeaseExpired(node, T + 15_001)).toBe(true);
    state.applyNode({ nodeId: "n1", node: null });
    expect(state.nodes.size).toBe(0);
  });
});

describe("chart geometry", () => {
  it("rounds the corners of an orthogonal polyline", () => {
    expect(roundedPath([{ x: 0, y: 0 }, { x: 0, y: 100 }, { x: 100, y: 100 }], 8)).toBe("M0,0 L0,92 Q0,100 8,100 L100,100");
    // Short segments clamp the radius to half their length.
    expect(roundedPath([{ x: 0, y: 0 }, { x: 0, y: 4 }, { x: 10, y: 4 }], 8)).toBe("M0,0 L0,2 Q0,4 2,4 L10,4");
    expect(roundedPath([])).toBe("");
  });

  it("maps a broadcast event name to the label lines it took", () => {
    const labels = ["TIMEOUT [expiredToKill]", "KILL", "always [killRequested]"];
    expect(matchingLines(labels, "kill")).toEqual([1]);
    expect(matchingLines(labels, "timeout")).toEqual([0]);
    expect(matchingLines(labels, "node_lost")).toEqual([]);
    // Arrows are labelled with the lifecycle table's words for their row (write-ahead: "(stored)").
    expect(matchingLines(["driver started (stored)"], "started")).toEqual([0]);
    expect(matchingLines(["driver paused (stored)"], "paused")).toEqual([0]);
    expect(matchingLines(["driver failed (stored)"], "start_failed")).toEqual([0]);
    expect(matchingLines(["driver removed (stored)"], "killed")).toEqual([0]);
    expect(matchingLines(["RESUME", "SET_TIMEOUT [hasTtl]", "REFRESH [hasTtl]"], "set_timeout")).toEqual([1]);
  });
});
