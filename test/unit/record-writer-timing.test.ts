// When and how long the node's record writer (actors/node/record-writer.ts)
// writes: every write leaves at once, inside the machine's send (the
// machine sends the next one only once this one is answered, so there is
// nothing to wait for); a write for a sandbox with a write in flight waits
// for it; an unavailable store is retried within a bounded budget, then the
// write is answered `persist.failed` and the host is told. A fake store
// records the calls: only the timing is under test here
// (test/integration/record-writer.test.ts covers the writes against a real store).
import { createActor, fromCallback } from "xstate";
import { describe, expect, it } from "vitest";
import { RecordWriter } from "../../actors/node/record-writer.js";
import { UnavailableError } from "../../src/errors.js";
import { asNodeId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { WriteDecision } from "../../src/store/sandbox-store.js";
import type { WriteRequest } from "../../machines/sandbox/index.js";
import { makeStoredSandbox } from "../helpers/records.js";

const nextMacrotask = () => new Promise((resolve) => setImmediate(resolve));

/** A store whose `updateAt` answers when the test says so. */
function fakeStore() {
  const calls: WriteDecision[] = [];
  const pending: Array<() => void> = [];
  const store = {
    async updateAt(base: StoredSandbox, decision: WriteDecision): Promise<StoredSandbox> {
      calls.push(decision);
      await new Promise<void>((resolve) => pending.push(resolve));
      return { ...decision.record, revision: base.revision + 1 };
    },
    mutate: () => Promise.reject(new Error("not used")),
    publishLanded: () => {},
  };
  return { store, calls, ackNext: () => pending.shift()?.() };
}

function setup() {
  const { store, calls, ackNext } = fakeStore();
  const failed: unknown[] = [];
  const writer = new RecordWriter({ store, nodeId: asNodeId("timing-node"), log: logger("test"), onWriteFailed: (_id, err) => failed.push(err) });
  const replies: unknown[] = [];
  const machine = createActor(fromCallback(({ receive }) => receive((r) => void replies.push(r)))).start();
  const base = makeStoredSandbox({ nodeId: asNodeId("timing-node"), revision: 3 });
  writer.seed(base);
  const write = (record: StoredSandbox, event: WriteRequest["event"]) =>
    writer.ref.send({ type: "write", record, event, from: base.state, replyTo: machine } satisfies WriteRequest);
  return { writer, calls, ackNext, replies, base, write, failed };
}

describe("RecordWriter timing", () => {
  it.each(["pausing", "paused", "killing"] as const)("sends a write into %s at once, inside the send", (state) => {
    const { calls, base, write } = setup();
    write({ ...base, state }, "pause");
    expect(calls.map((c) => c.record.state)).toEqual([state]);
  });

  it("queues a write behind the one in flight for the same sandbox, in order", async () => {
    const { writer, calls, ackNext, replies, base, write } = setup();
    write({ ...base, state: "pausing" }, "pause");
    write({ ...base, state: "paused", endAt: null }, "paused");
    await nextMacrotask();
    expect(calls.map((c) => c.event)).toEqual(["pause"]);
    ackNext();
    await nextMacrotask();
    expect(calls.map((c) => c.event)).toEqual(["pause", "paused"]);
    ackNext();
    const last = await writer.settled(base.sandboxId);
    expect(last?.state).toBe("paused");
    expect(last?.revision).toBe(base.revision + 2);
    expect(replies).toHaveLength(2);
  });

  it("retries an unavailable store within its budget, then answers persist.failed and tells the host", async () => {
    const attempts: number[] = [];
    const store = {
      updateAt: async (): Promise<StoredSandbox> => {
        attempts.push(Date.now());
        throw new UnavailableError("no responders");
      },
      mutate: () => Promise.reject(new Error("not used")),
      publishLanded: () => {},
    };
    const failed: unknown[] = [];
    const writer = new RecordWriter({ store, nodeId: asNodeId("timing-node"), log: logger("test"), onWriteFailed: (_id, err) => failed.push(err), retry: { baseMs: 10, maxMs: 20 }, retryBudgetMs: 100 });
    const replies: Array<{ type: string }> = [];
    const machine = createActor(fromCallback(({ receive }) => receive((r) => void replies.push(r as { type: string })))).start();
    const base = makeStoredSandbox({ nodeId: asNodeId("timing-node"), revision: 3 });
    writer.seed(base);
    const started = Date.now();
    writer.ref.send({ type: "write", record: { ...base, endAt: 1 }, event: "set_timeout", from: "running", replyTo: machine } satisfies WriteRequest);
    await writer.settled(base.sandboxId);
    expect(replies.map((r) => r.type)).toEqual(["persist.failed"]);
    expect(failed).toHaveLength(1);
    expect(attempts.length).toBeGreaterThan(2);
    expect(Date.now() - started).toBeLessThan(1_000);
    // Nothing was stored: the next write's base is still the seeded record.
    expect(writer.last(base.sandboxId)).toBe(base);
  });
});
