// Events follow writes, the writer's half (src/store/event-outbox.ts): the
// event of an acknowledged write that the stream does not take (JetStream
// gone for real: a config reload without it, core NATS still up) is resent
// until the stream has it, in write order, once each, after JetStream is
// back. A fire-and-forget publish loses such events for good once the KV
// holds two newer values of the key (history 2), which a history run found.
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { decodeEvent, type SandboxEvent } from "../../src/events.js";
import type { SandboxId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import { openEventsStream } from "../../src/store/buckets.js";
import { EventOutbox } from "../../src/store/event-outbox.js";
import { EVENTS_STREAM, subjects } from "../../src/subjects.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { startFaultyNats, type FaultyNats } from "../helpers/nats-faults.js";
import { waitUntil } from "../helpers/wait.js";

let server: FaultyNats;
let nc: NatsConnection;

beforeAll(async () => {
  server = await startFaultyNats();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  await openEventsStream(nc, resolveConfig({}, {}));
});

afterAll(async () => {
  await nc?.close();
  await server?.stop();
});

function eventAt(sandboxId: SandboxId, revision: number): SandboxEvent {
  const record = { ...makeStoredSandbox({ sandboxId, revision }), revision };
  return { sandboxId, from: "running", to: "running", event: "set_timeout", revision, at: Date.now(), nodeId: record.nodeId, record };
}

/** Revisions of the sandbox's events in the stream, in stream order. */
async function streamRevisions(sandboxId: SandboxId): Promise<number[]> {
  const jsm = await jetstreamManager(nc);
  const out: number[] = [];
  const info = await jsm.streams.info(EVENTS_STREAM);
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const sm = await jsm.streams.getMessage(EVENTS_STREAM, { seq }).catch(() => null);
    if (sm !== null && sm.subject === subjects.sandboxEvents(sandboxId)) out.push(decodeEvent(sm.data).revision);
  }
  return out;
}

describe("EventOutbox", () => {
  it("resends, in order and once each, the events the stream did not take while JetStream was gone", async () => {
    const outbox = new EventOutbox(nc, jetstream(nc), { retryMs: 100, ackTimeoutMs: 1_000, log: logger("test-outbox") });
    const id = makeStoredSandbox().sandboxId;
    outbox.send(eventAt(id, 10));
    await waitUntil(async () => (await streamRevisions(id)).length === 1, { what: "the first event stored" });

    await server.disableJetStream();
    for (const revision of [11, 12, 13]) outbox.send(eventAt(id, revision));
    await waitUntil(() => outbox.unacked === 3, { timeoutMs: 10_000, what: "three events waiting for the stream" });
    expect(await nc.request(subjects.sandboxEvents(id), new Uint8Array(), { timeout: 1_000 }).catch(() => "no responder")).toBe("no responder");

    await server.enableJetStream();
    await waitUntil(() => outbox.unacked === 0, { timeoutMs: 20_000, what: "every event acknowledged" });
    expect(await streamRevisions(id)).toEqual([10, 11, 12, 13]);
    await outbox.close();
  });

  it("keeps an event sent while others wait behind them, so the stream gets them in write order", async () => {
    const outbox = new EventOutbox(nc, jetstream(nc), { retryMs: 100, ackTimeoutMs: 1_000, log: logger("test-outbox") });
    const id = makeStoredSandbox().sandboxId;
    await server.disableJetStream();
    outbox.send(eventAt(id, 20));
    await waitUntil(() => outbox.unacked === 1, { timeoutMs: 10_000, what: "the first event waiting" });
    await server.enableJetStream();
    outbox.send(eventAt(id, 21));
    await waitUntil(() => outbox.unacked === 0, { timeoutMs: 20_000, what: "both events acknowledged" });
    expect(await streamRevisions(id)).toEqual([20, 21]);
    await outbox.close();
  });
});
