// When the node's record writer sends a write (actors/node/record-writer.ts):
// the outcome of a driver call (paused, resumed, ...) leaves inside the
// machine's transition, with nothing in between; a write into a transient
// state (pausing, resuming, killing) leaves in the next macrotask, after the
// driver request the same transition started; a write for a sandbox with a
// write in flight waits for it. A fake store records the calls: only the
// timing is under test here (test/integration/record-writer.test.ts covers
// the writes against a real store).
import { createActor, fromCallback } from "xstate";
import { describe, expect, it } from "vitest";
import { RecordWriter } from "../../actors/node/record-writer.js";
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
  const writer = new RecordWriter({ store, nodeId: asNodeId("timing-node"), log: logger("test"), onOwnershipLost: () => {} });
  const replies: unknown[] = [];
  const machine = createActor(fromCallback(({ receive }) => receive((r) => void replies.push(r)))).start();
  const base = makeStoredSandbox({ nodeId: asNodeId("timing-node"), revision: 3 });
  writer.seed(base);
  const write = (record: StoredSandbox, event: WriteRequest["event"]) =>
    writer.ref.send({ type: "write", record, event, from: base.state, replyTo: machine } satisfies WriteRequest);
  return { writer, calls, ackNext, replies, base, write };
}

describe("RecordWriter timing", () => {
  it("sends the outcome of a driver call at once, inside the send", () => {
    const { calls, base, write } = setup();
    write({ ...base, state: "paused", endAt: null }, "paused");
    expect(calls.map((c) => c.event)).toEqual(["paused"]);
  });

  it.each(["pausing", "resuming", "killing"] as const)("sends a write into %s in the next macrotask", async (state) => {
    const { calls, base, write } = setup();
    write({ ...base, state }, "pause");
    await Promise.resolve();
    expect(calls).toHaveLength(0);
    await nextMacrotask();
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
});
