// Gap reload (issue 14, item 3): a proxy route table that receives an event
// whose `from` is not the state it holds has missed writes; it applies the
// event and re-reads the key from the KV, so it ends at the KV's latest record
// even when no event for that record ever comes. Real nats-server; the missed
// writes go to the KV directly (as a writer that died before publishing
// would leave them), and no re-publisher runs here, so only the reload can
// bring the table to the last one.
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { RouteTable } from "../../actors/proxy/route-table.js";
import { encodeMsgpack } from "../../src/codec.js";
import { publishEvent } from "../../src/events.js";
import { logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/index.js";
import { SANDBOX_BUCKET, sandboxKey } from "../../src/subjects.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { useStore } from "../helpers/fixture.js";
import { waitUntil } from "../helpers/wait.js";

const fixture = useStore();
let nc: NatsConnection;
let store: SandboxStore;
let kv: KV;
let routes: RouteTable;

beforeAll(async () => {
  ({ nc, store } = fixture);
  kv = await new Kvm(nc).open(SANDBOX_BUCKET);
  routes = new RouteTable(nc, store, logger("test-routes"), { tombstoneMs: 3_600_000 });
  await routes.start();
});

afterAll(() => routes?.close());

/** A write that publishes no event (its writer "died" before publishing). */
async function silentWrite(base: StoredSandbox, change: Partial<StoredSandbox>): Promise<StoredSandbox> {
  const next = { ...base, ...change };
  const revision = await kv.update(sandboxKey(base.sandboxId), encodeMsgpack(next), base.revision);
  return { ...next, revision };
}

it("an event that reveals missed writes makes the route table reload the key from the KV", async () => {
  const { record: created } = await store.createIfAbsent(makeStoredSandbox());
  await waitUntil(() => routes.get(created.sandboxId)?.revision === created.revision, { what: "the create's event" });

  const pausing = await silentWrite(created, { state: "pausing" });
  const paused = await silentWrite(pausing, { state: "paused", endAt: null });
  const resuming = await silentWrite(paused, { state: "resuming" });
  // The event of the `paused` write arrives (late, say re-published); the table holds `running`.
  publishEvent(nc, { sandboxId: paused.sandboxId, from: "pausing", to: "paused", event: "paused", revision: paused.revision, at: Date.now(), nodeId: paused.nodeId, record: paused });

  await waitUntil(() => routes.get(created.sandboxId)?.revision === resuming.revision, { timeoutMs: 5_000, what: "the route table to reload the key" });
  expect(routes.get(created.sandboxId)!.state).toBe("resuming");
});
