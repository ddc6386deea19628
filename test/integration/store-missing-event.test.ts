// A node adopting a record of its own publishes the record's event when the
// stream has none at its revision (SandboxStore.publishIfMissing, called by
// reconciliation): a write whose acknowledgement was lost past the writer's
// retries landed, while its writer reported it failed and sent no event. A
// history run on a 3-server cluster found one under a stream leader's
// SIGKILL: the re-publisher's watch was down until two newer writes had
// pushed the value out of the KV's history, so nothing ever sent it.
import { jetstreamManager } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import { expect, it } from "vitest";
import { lastEventRevision } from "../../src/store/republish.js";
import { encodeSandboxForWrite } from "../../src/store/record-codec.js";
import { SANDBOX_BUCKET, sandboxKey } from "../../src/subjects.js";
import { useStore } from "../helpers/fixture.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const fx = useStore();

it("publishes a landed write's missing event once, as `republished` at the KV write's time", async () => {
  const { store, nc } = fx;
  const { record } = await store.createIfAbsent(makeStoredSandbox(), "create");
  const id = record.sandboxId;
  const jsm = await jetstreamManager(nc);
  await waitUntil(async () => (await lastEventRevision(jsm, id)) === record.revision, { what: "the create's event in the stream" });
  expect(await store.publishIfMissing(id)).toBe(false); // its own event is there

  // The write lands and no event is sent: what a writer that gave up on a lost acknowledgement leaves.
  const next = { ...record, metadata: { touched: "yes" } };
  const kv = await new Kvm(nc).open(SANDBOX_BUCKET);
  const before = Date.now();
  const revision = await kv.update(sandboxKey(id), encodeSandboxForWrite(next, record), record.revision);

  expect(await store.publishIfMissing(id)).toBe(true);
  await waitUntil(async () => (await lastEventRevision(jsm, id)) === revision, { what: "the missing event in the stream" });
  const event = await waitUntil(() => fx.events.find((e) => e.sandboxId === id && e.revision === revision), { what: "the missing event delivered" });
  expect(event).toMatchObject({ event: "republished", from: null, to: "running", nodeId: record.nodeId, record: { metadata: { touched: "yes" } } });
  expect(event.at).toBeGreaterThanOrEqual(before - 1_000);
  expect(event.at).toBeLessThanOrEqual(Date.now());

  // Once the stream has it, nothing more.
  expect(await store.publishIfMissing(id)).toBe(false);
  expect(fx.events.filter((e) => e.sandboxId === id && e.revision === revision)).toHaveLength(1);
});
