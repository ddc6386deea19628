// The pure rules of SandboxStore.list (issue 3 item 4): filters, newest-first
// order, keyset cursor paging, and validation before any read.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import type { NodeId } from "../../src/ids.js";
import { compileListQuery, decodeCursor, encodeCursor, selectPage, type ListQuery } from "../../src/store/list-page.js";
import { makeStoredSandbox } from "../helpers/records.js";

const page = (query: ListQuery, records: ReturnType<typeof makeStoredSandbox>[]) => selectPage(compileListQuery(query), records);

describe("list cursor", () => {
  it("round-trips a position", () => {
    const pos = { createdAt: 1_732_350_000_000, sandboxId: "abcdefghij0123456789" };
    const cursor = encodeCursor(pos);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(pos);
  });

  it.each([
    ["garbage", "not a cursor!"],
    ["non-JSON base64url", Buffer.from("hello").toString("base64url")],
    ["wrong shape", Buffer.from(JSON.stringify({ a: 1 })).toString("base64url")],
    ["bad id", Buffer.from(JSON.stringify([1, "UPPER"])).toString("base64url")],
    ["negative time", Buffer.from(JSON.stringify([-1, "abcdefghij0123456789"])).toString("base64url")],
    ["empty", ""],
  ])("rejects a malformed cursor (%s) with invalid_argument", (_what, cursor) => {
    expect(() => decodeCursor(cursor)).toThrow(InvalidArgumentError);
  });
});

describe("list query validation", () => {
  it.each([0, -1, 1001, 1.5, Number.NaN])("rejects limit %s", (limit) => {
    expect(() => compileListQuery({ limit })).toThrow(InvalidArgumentError);
  });
  it("rejects an unknown state", () => {
    expect(() => compileListQuery({ state: ["sleeping" as never] })).toThrow(InvalidArgumentError);
  });
  it("rejects a malformed cursor before anything is read", () => {
    expect(() => compileListQuery({ cursor: "%%%" })).toThrow(/cursor/);
  });
});

describe("selectPage", () => {
  const base = 1_700_000_000_000;
  const running = makeStoredSandbox({ createdAt: base + 3, metadata: { user: "alice", team: "a" } });
  const paused = makeStoredSandbox({ createdAt: base + 2, state: "paused", endAt: null, metadata: { user: "bob" } });
  const killed = makeStoredSandbox({ createdAt: base + 1, state: "killed", killReason: "request", metadata: { user: "alice" } });
  const elsewhere = makeStoredSandbox({ createdAt: base, nodeId: "node-2" as NodeId, metadata: { user: "alice" } });
  const all = [killed, elsewhere, paused, running];

  it("excludes killed tombstones unless state asks for killed", () => {
    expect(page({}, all).items.map((r) => r.sandboxId)).toEqual([running, paused, elsewhere].map((r) => r.sandboxId));
    expect(page({ state: ["killed"] }, all).items).toEqual([killed]);
    expect(page({ state: ["killed", "paused"] }, all).items).toEqual([paused, killed]);
  });

  it("requires every metadata pair to match", () => {
    expect(page({ metadata: { user: "alice" } }, all).items).toEqual([running, elsewhere]);
    expect(page({ metadata: { user: "alice", team: "a" } }, all).items).toEqual([running]);
    expect(page({ metadata: { user: "carol" } }, all).items).toEqual([]);
  });

  it("filters by node", () => {
    expect(page({ nodeId: "node-2" as NodeId }, all).items).toEqual([elsewhere]);
  });

  it("orders newest first with ties by id and pages without gaps or duplicates", () => {
    const tied = Array.from({ length: 7 }, () => makeStoredSandbox({ createdAt: base }));
    const records = [...tied, ...Array.from({ length: 6 }, (_, i) => makeStoredSandbox({ createdAt: base + 100 + i }))];
    const expected = [...records].sort((a, b) => b.createdAt - a.createdAt || (a.sandboxId < b.sandboxId ? -1 : 1)).map((r) => r.sandboxId);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const p = page({ limit: 4, cursor }, records);
      seen.push(...p.items.map((r) => r.sandboxId));
      cursor = p.nextCursor;
      pages++;
    } while (cursor !== null);
    expect(seen).toEqual(expected);
    expect(pages).toBe(4);
  });

  it("says nextCursor null when the page ends exactly at the last record", () => {
    const records = Array.from({ length: 4 }, (_, i) => makeStoredSandbox({ createdAt: base + i }));
    const first = page({ limit: 2 }, records);
    expect(first.nextCursor).not.toBeNull();
    const second = page({ limit: 2, cursor: first.nextCursor }, records);
    expect(second.items).toHaveLength(2);
    expect(second.nextCursor).toBeNull();
  });
});
