// The node's record writer against a real store: the one-round-trip CAS at
// its last revision, the fall back to re-read on a conflict, a write whose
// acknowledgement was lost (applied once, event published once, never taken
// for someone else's write), and a real takeover refused.
import { Kvm } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { createActor, fromCallback } from "xstate";
import { beforeAll, describe, expect, it } from "vitest";
import { OwnershipLostError, RecordWriter } from "../../actors/node/record-writer.js";
import { RevisionConflictError, UnavailableError } from "../../src/errors.js";
import { asNodeId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { encodeSandboxForWrite } from "../../src/store/record-codec.js";
import type { SandboxStore, WriteDecision } from "../../src/store/sandbox-store.js";
import { SANDBOX_BUCKET } from "../../src/subjects.js";
import type { WriteRequest } from "../../machines/sandbox/index.js";
import { useStore } from "../helpers/fixture.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const nodeId = asNodeId("writer-node");
const fixture = useStore();
const { events } = fixture;
let nc: NatsConnection;
let store: SandboxStore;

beforeAll(() => void ({ nc, store } = fixture));

type Reply = { type: "persisted"; record: StoredSandbox } | { type: "persist.failed"; error: unknown };

/** A stand-in for the machine: collects the writer's replies. */
function replyBox() {
  const replies: Reply[] = [];
  const ref = createActor(fromCallback<Reply>(({ receive }) => receive((r) => void replies.push(r)))).start();
  return { ref, replies };
}

async function created(): Promise<StoredSandbox> {
  return (await store.createIfAbsent(makeStoredSandbox({ nodeId }))).record;
}

function write(writer: RecordWriter, record: StoredSandbox, event: WriteRequest["event"], replyTo: WriteRequest["replyTo"]): void {
  writer.ref.send({ type: "write", record, event, from: "running", replyTo } satisfies WriteRequest);
}

describe("RecordWriter", () => {
  it("writes at its last revision in one CAS; a stale revision is a conflict and writes nothing", async () => {
    const r = await created();
    const next = await store.updateAt(r, { record: { ...r, timeoutMs: 1_000 }, event: "set_timeout" });
    expect(next.revision).toBeGreaterThan(r.revision);
    await expect(store.updateAt(r, { record: { ...r, timeoutMs: 2_000 }, event: "set_timeout" })).rejects.toBeInstanceOf(RevisionConflictError);
    expect((await store.get(r.sandboxId))?.timeoutMs).toBe(1_000);
  });

  it("a write whose acknowledgement was lost is kept once, its event published once", async () => {
    const r = await created();
    let lose = true;
    // The real update reaches the server; the first time, its ack "times out" on the way back.
    const lossy = {
      mutate: store.mutate.bind(store),
      publishLanded: store.publishLanded.bind(store),
      async updateAt(base: StoredSandbox, decision: WriteDecision) {
        if (!lose) return store.updateAt(base, decision);
        lose = false;
        // The update is applied on the server; the reply (and so the event publish) never happens.
        const kv = await new Kvm(nc).open(SANDBOX_BUCKET);
        await kv.update(base.sandboxId, encodeSandboxForWrite(decision.record), base.revision);
        throw new UnavailableError("store unavailable: timeout");
      },
    };
    const writer = new RecordWriter({ store: lossy, nodeId, log: logger("test"), onWriteFailed: () => {}, retry: { baseMs: 5, maxMs: 5 } });
    writer.seed(r);
    const box = replyBox();
    write(writer, { ...r, timeoutMs: 42_000 }, "set_timeout", box.ref);
    await waitUntil(() => box.replies.length === 1, { what: "the reply" });
    expect(box.replies[0]).toMatchObject({ type: "persisted", record: { timeoutMs: 42_000, revision: r.revision + 1 } });
    const stored = await store.get(r.sandboxId);
    expect(stored?.revision).toBe(r.revision + 1); // written once, not twice
    await nc.flush();
    expect(events.filter((e) => e.sandboxId === r.sandboxId && e.revision > r.revision).map((e) => [e.event, e.revision])).toEqual([["set_timeout", r.revision + 1]]);
    writer.stop();
  });

  it("refuses to overwrite a record another writer changed, and reports the takeover", async () => {
    const r = await created();
    const lost: unknown[] = [];
    const writer = new RecordWriter({ store, nodeId, log: logger("test"), onWriteFailed: (_id, err) => lost.push(err) });
    writer.seed(r);
    await store.mutate(r.sandboxId, (latest) => ({ record: { ...latest, metadata: { by: "someone else" } }, event: "set_timeout" }));
    const box = replyBox();
    write(writer, { ...r, timeoutMs: 7_000 }, "set_timeout", box.ref);
    await waitUntil(() => box.replies.length === 1, { what: "the reply" });
    expect(box.replies[0]).toMatchObject({ type: "persist.failed" });
    expect(lost).toEqual([expect.any(OwnershipLostError)]);
    expect((await store.get(r.sandboxId))?.metadata).toEqual({ by: "someone else" });
    writer.stop();
  });
});
