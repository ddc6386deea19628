// SandboxStore.list against a real bucket (issue 3 item 4): filters (state,
// metadata, node, tombstones only when asked), newest-first keyset paging over
// 250 records, and invalid_argument for a bad cursor.
import { beforeAll, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import type { NodeId } from "../../src/ids.js";
import type { SandboxState, StoredSandbox } from "../../src/schema/record.js";
import type { ListQuery, SandboxStore } from "../../src/store/sandbox-store.js";
import { useStore } from "../helpers/fixture.js";
import { makeStoredSandbox } from "../helpers/records.js";

const STATES: SandboxState[] = ["running", "paused", "killed", "starting", "running"];
const COUNT = 250;

describe("SandboxStore.list", () => {
  const fixture = useStore();
  let store: SandboxStore;
  let records: StoredSandbox[];

  beforeAll(() => void ({ store } = fixture));

  /** Newest first, ties by id: what every list must return, before paging. */
  const expected = (keep: (r: StoredSandbox) => boolean) =>
    records
      .filter(keep)
      .sort((a, b) => b.createdAt - a.createdAt || (a.sandboxId < b.sandboxId ? -1 : 1))
      .map((r) => r.sandboxId);

  async function listAll(query: ListQuery): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await store.list({ ...query, cursor });
      expect(page.items.length).toBeLessThanOrEqual(query.limit ?? 100);
      ids.push(...page.items.map((r) => r.sandboxId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor !== null && pages < 100);
    return { ids, pages };
  }

  // Runs first: the bucket is still empty (a watcher on it delivers nothing).
  it("returns an empty last page for an empty bucket", async () => {
    expect(await store.list({})).toEqual({ items: [], nextCursor: null });
    for await (const r of store.scan()) throw new Error(`unexpected record ${r.sandboxId}`);
  });

  describe("over 250 records", () => {
    beforeAll(async () => {
      const base = 1_700_000_000_000;
      records = Array.from({ length: COUNT }, (_, i) =>
        makeStoredSandbox({
          // Three records per millisecond: ties are ordered by id.
          createdAt: base + Math.floor(i / 3),
          state: STATES[i % STATES.length]!,
          killReason: STATES[i % STATES.length] === "killed" ? "request" : null,
          nodeId: (i % 4 === 0 ? "node-2" : "node-1") as NodeId,
          metadata: { user: i % 2 === 0 ? "alice" : "bob", team: `t${i % 3}` },
        }),
      );
      const results = await Promise.all(records.map((r) => store.createIfAbsent(r)));
      expect(results.every((r) => r.created)).toBe(true);
    });

    it("pages newest first without duplicates or gaps, ending with nextCursor null", async () => {
      const { ids, pages } = await listAll({ limit: 40 });
      const live = expected((r) => r.state !== "killed");
      expect(live).toHaveLength(200);
      expect(ids).toEqual(live);
      expect(pages).toBe(5);
    });

    it("neither repeats nor skips records when a sandbox is created between pages", async () => {
      const first = await store.list({ limit: 60 });
      const newcomer = makeStoredSandbox({ createdAt: Date.now() });
      await store.createIfAbsent(newcomer);
      try {
        const ids = first.items.map((r) => r.sandboxId);
        let cursor = first.nextCursor;
        while (cursor !== null) {
          const page = await store.list({ limit: 60, cursor });
          ids.push(...page.items.map((r) => r.sandboxId));
          cursor = page.nextCursor;
        }
        expect(ids).toEqual(expected((r) => r.state !== "killed"));
      } finally {
        const killed = await store.mutate(newcomer.sandboxId, (l) => ({ record: { ...l, state: "killed", killReason: "request" }, event: "killed" }));
        expect(await store.deleteIfRevision(newcomer.sandboxId, killed.revision)).toBe(true);
      }
    });

    it("pages with the default limit of 100", async () => {
      const first = await store.list({});
      expect(first.items).toHaveLength(100);
      expect(first.nextCursor).not.toBeNull();
      expect(first.items.map((r) => r.sandboxId)).toEqual(expected((r) => r.state !== "killed").slice(0, 100));
    });

    it("lists killed tombstones only when state asks for killed", async () => {
      expect((await listAll({ limit: 1000 })).ids.some((id) => records.find((r) => r.sandboxId === id)?.state === "killed")).toBe(false);
      expect((await listAll({ state: ["killed"], limit: 7 })).ids).toEqual(expected((r) => r.state === "killed"));
      expect((await listAll({ state: ["killed", "paused"], limit: 1000 })).ids).toEqual(
        expected((r) => r.state === "killed" || r.state === "paused"),
      );
    });

    it("filters by state, metadata (all pairs) and node", async () => {
      expect((await listAll({ state: ["starting"], limit: 1000 })).ids).toEqual(expected((r) => r.state === "starting"));
      expect((await listAll({ metadata: { user: "alice", team: "t1" }, limit: 9 })).ids).toEqual(
        expected((r) => r.state !== "killed" && r.metadata.user === "alice" && r.metadata.team === "t1"),
      );
      expect((await listAll({ nodeId: "node-2" as NodeId, state: ["running"], limit: 1000 })).ids).toEqual(
        expected((r) => r.nodeId === "node-2" && r.state === "running"),
      );
      expect(await store.list({ metadata: { user: "nobody" } })).toEqual({ items: [], nextCursor: null });
    });

    it("returns records with their KV revisions", async () => {
      const page = await store.list({ limit: 5 });
      for (const item of page.items) expect((await store.get(item.sandboxId))?.revision).toBe(item.revision);
    });

    it("answers invalid_argument for a malformed cursor or limit", async () => {
      await expect(store.list({ cursor: "definitely-not-a-cursor" })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.list({ limit: 1001 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });
});
