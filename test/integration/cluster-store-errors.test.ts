// Issue 14 item 2, end to end: a store that cannot take a request answers
// `unavailable` (retryable), never `internal`, against real nats-servers:
// JetStream off, a stream whose only replica's server was SIGKILLed (the
// "jetstream not enabled / no responders" of the issue), and an R3 stream
// with 2 of 3 servers down (quorum lost). The unit test
// test/unit/store-kv-errors.test.ts pins the mapping class by class.
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { UnavailableError, type CorralError } from "../../src/errors.js";
import { kvStream } from "../../src/store/buckets.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { SANDBOX_BUCKET } from "../../src/subjects.js";
import { startNats } from "../helpers/nats.js";
import { startNatsCluster, type NatsCluster } from "../helpers/nats-cluster.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const SANDBOXES = kvStream(SANDBOX_BUCKET);

/** The error `op` failed with, and how long it took. */
async function failure(op: () => Promise<unknown>): Promise<{ err: CorralError; ms: number }> {
  const t0 = Date.now();
  // Bounded, so that a call that never settles fails here, by name, rather than as the test's timeout.
  const hung = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`the store call did not settle in 30 s: ${op.toString()}`)), 30_000).unref());
  const err = await Promise.race([
    op().then(
      () => null,
      (e: unknown) => e,
    ),
    hung,
  ]);
  if (err === null) throw new Error("expected the store call to fail");
  return { err: err as CorralError, ms: Date.now() - t0 };
}

function expectUnavailable({ err, ms }: { err: CorralError; ms: number }, boundMs: number): void {
  expect(err, String(err)).toBeInstanceOf(UnavailableError);
  expect(err).toMatchObject({ code: "unavailable", retryable: true });
  expect(ms).toBeLessThan(boundMs);
}

/**
 * The store's write calls on `record` (the first two would change its endAt),
 * each expected unavailable within 10 s (`mutateBoundMs` for mutate, which
 * reads before it writes).
 */
async function expectWritesUnavailable(store: SandboxStore, record: StoredSandbox, mutateBoundMs = 10_000): Promise<void> {
  expectUnavailable(await failure(() => store.updateAt(record, { record: { ...record, endAt: record.endAt! + 1 }, event: "set_timeout" })), 10_000);
  expectUnavailable(await failure(() => store.mutate(record.sandboxId, (l) => ({ record: { ...l, endAt: l.endAt! + 2 }, event: "set_timeout" }))), mutateBoundMs);
  expectUnavailable(await failure(() => store.createIfAbsent(makeStoredSandbox())), 10_000);
}

/** Waits until the store takes a write again, and checks that none of the failed writes was applied. */
async function expectWritesAgain(store: SandboxStore, record: StoredSandbox, timeoutMs: number): Promise<void> {
  const after = await waitUntil(() => store.mutate(record.sandboxId, (l) => ({ record: { ...l, endAt: l.endAt! + 3 }, event: "set_timeout" })).catch(() => null), {
    timeoutMs,
    intervalMs: 200,
    what: "the store to take writes again",
  });
  expect(after.endAt).toBe(record.endAt! + 3);
}

describe("store errors against real servers", () => {
  it("JetStream off: opening the store is unavailable, not internal", async () => {
    const server = await startNats({ jetstream: false });
    try {
      const nc = await server.connect();
      expectUnavailable(await failure(() => SandboxStore.open(nc, resolveConfig({}, {}))), 10_000);
    } finally {
      await server.stop();
    }
  });

  describe("on a 3-server cluster", () => {
    let cluster: NatsCluster;
    let nc: NatsConnection;
    beforeAll(async () => {
      cluster = await startNatsCluster();
      nc = await cluster.connect();
    });
    afterAll(async () => {
      await cluster?.stop();
    });
    afterEach(async () => {
      // Every test leaves all servers up and the bucket gone for the next one.
      await Promise.all(cluster.servers.filter((s) => !s.running()).map((s) => s.start()));
      await cluster.untilJetStream();
      const jsm = await (await import("@nats-io/jetstream")).jetstreamManager(nc);
      await waitUntil(() => jsm.streams.delete(SANDBOXES).catch((e: Error) => e.message.includes("not found")), { timeoutMs: 20_000, what: "the bucket to be deleted" });
    });

    it("R1: the server holding the only replica is SIGKILLed → writes and reads are unavailable, then work again", async () => {
      const store = await SandboxStore.open(nc, resolveConfig({ replicas: 1 }, {}));
      const { record } = await store.createIfAbsent(makeStoredSandbox());
      const leader = (await cluster.streamLeader(SANDBOXES))!;
      expect(leader).not.toBeNull();
      await leader.kill();

      await expectWritesUnavailable(store, record);
      expectUnavailable(await failure(() => store.get(record.sandboxId)), 10_000);

      await leader.start();
      await expectWritesAgain(store, record, 20_000);
      await store.close();
    }, 240_000);

    it("R3: 2 of 3 servers SIGKILLed (quorum lost) → unavailable within the request timeout; back when they return", async () => {
      const store = await SandboxStore.open(nc, resolveConfig({ replicas: 3 }, {}));
      expect((await cluster.streamReplicas(SANDBOXES)).replicas).toBe(3);
      const { record } = await store.createIfAbsent(makeStoredSandbox());
      const leader = (await cluster.streamLeader(SANDBOXES))!;
      const other = cluster.servers.find((s) => s !== leader)!;
      await Promise.all([leader.kill(), other.kill()]);

      await expectWritesUnavailable(store, record, 15_000);

      await Promise.all([leader.start(), other.start()]);
      await expectWritesAgain(store, record, 30_000);
      await store.close();
    }, 240_000);
  });
});
