// No success without a write (DESIGN.md, "Cluster"; issue 14): a node actor
// (process driver) on a real nats-server whose JetStream is taken away for
// real (config reload without JetStream: core NATS still carries requests and
// replies, every KV call fails; it comes back by a restart on the same port
// and store) or which is SIGKILLed and started again there. An operation whose write cannot land answers
// `unavailable` and moves nothing; a driver action already done when its
// outcome could not be stored is reconciled to the record once the store is
// back, without restarting the node; a sandbox whose process died during
// the outage does not stay live, and `kill` works on it.
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import { subscribeEvents, type SandboxEvent } from "../../src/events.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { FaultyDriver } from "../helpers/faulty-driver.js";
import { startFaultyNats, type FaultyNats } from "../helpers/nats-faults.js";
import { startNode, type TestNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const LONG = 600_000;

let server: FaultyNats;
let node: TestNode;
let faults: FaultyDriver;
let client: CorralClient;
let watcher: NatsConnection | undefined;
let processes: ProcessDriver;
const events: SandboxEvent[] = [];

beforeAll(async () => {
  server = await startFaultyNats();
  node = await startNode({
    natsUrl: server.url,
    prefix: "outage",
    driver: "process",
    wrapDriver: (real) => (faults = new FaultyDriver(real)),
  });
  client = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 10_000 });
  processes = new ProcessDriver({ dataDir: node.dataDir });
  const { connect } = await import("@nats-io/transport-node");
  watcher = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
  subscribeEvents(watcher, (e) => events.push(e));
});

afterAll(async () => {
  await client?.close();
  await watcher?.close();
  await node?.destroy();
  await processes?.close();
  await server?.stop();
});

/** The sandbox's process as the engine reports it: running, paused, or null when there is none (gone or exited). */
async function processState(id: string): Promise<string | null> {
  const state = (await processes.list(node.nodeId)).find((i) => i.sandboxId === id)?.state;
  return state === "running" || state === "paused" ? state : null;
}

/** Resolves with the error an API call failed with (fails the test if it succeeded). */
async function failure(call: Promise<unknown>): Promise<{ code?: string; message?: string }> {
  const result = await call.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err: err as { code?: string; message?: string } }),
  );
  if (result.ok) throw new Error(`expected a failure, got ${JSON.stringify(result.value)}`);
  return result.err;
}

/**
 * Resolves once the API answers this test's client again after the server
 * restarted: a request sent while the client was still reconnecting is lost
 * (it times out), the next ones are answered.
 */
const serving = (id: string) =>
  waitUntil(() => client.get(id).catch(() => null), { what: "the API after the restart", timeoutMs: 30_000, intervalMs: 100 });

const settled = (id: string, want: (r: SandboxRecord) => boolean, what: string) =>
  waitUntil(async () => {
    const r = await client.get(id);
    return want(r) && r;
  }, { what, timeoutMs: 20_000, intervalMs: 100 });

describe("store outage (JetStream unavailable for real)", () => {
  it("set_timeout, pause, resume and kill answer unavailable and move nothing; afterwards they work", async () => {
    const [a, b] = await Promise.all([client.create({ timeoutMs: LONG }), client.create({ timeoutMs: LONG })]);
    const paused = await client.pause(b.sandboxId);
    const calls = { ...faults.calls };
    await server.disableJetStream();
    try {
      const started = Date.now();
      const errors = await Promise.all([
        failure(client.setTimeout(a.sandboxId, 30_000)),
        failure(client.refresh(a.sandboxId, 3_600_000)),
        failure(client.resume(b.sandboxId)),
      ]);
      // The node's own answer (not a client timeout): the write could not be stored.
      for (const err of errors) expect(err).toMatchObject({ code: "unavailable", message: expect.stringMatching(/could not be stored/) });
      // Within the write's retry budget, far from the client's 30 s.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await failure(client.pause(a.sandboxId))).toMatchObject({ code: "unavailable", message: expect.stringMatching(/could not be stored/) });
      expect(await failure(client.kill(a.sandboxId))).toMatchObject({ code: "unavailable", message: expect.stringMatching(/could not be stored/) });
      // No engine call was made for any of them: the intents were never stored.
      expect(faults.calls).toEqual(calls);
      expect([await processState(a.sandboxId), await processState(b.sandboxId)]).toEqual(["running", "paused"]);
    } finally {
      await server.enableJetStream();
    }
    await serving(a.sandboxId);
    // Nothing was written meanwhile: the records are the ones from before the outage.
    expect(await client.get(a.sandboxId)).toMatchObject({ state: "running", endAt: a.endAt, revision: a.revision });
    expect(await client.get(b.sandboxId)).toMatchObject({ state: "paused", revision: paused.revision });
    // The store is back: the same operations succeed, and each reply is what was stored.
    const extended = await waitUntil(() => client.setTimeout(a.sandboxId, 30_000).catch(() => null), { what: "set_timeout after the outage", timeoutMs: 20_000, intervalMs: 200 });
    expect(extended.endAt).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(await client.get(a.sandboxId)).toMatchObject({ endAt: extended.endAt, revision: extended.revision });
    expect((await client.resume(b.sandboxId)).state).toBe("running");
    expect((await client.kill(a.sandboxId)).state).toBe("killed");
    expect((await client.kill(b.sandboxId)).state).toBe("killed");
  });

  it("a pause and a kill whose outcome could not be stored are reconciled once the store is back, without a restart", async () => {
    const [p, k] = await Promise.all([client.create({ timeoutMs: LONG }), client.create({ timeoutMs: LONG })]);
    const releasePause = faults.hold("pause");
    const releaseRemove = faults.hold("remove");
    const pausing = client.pause(p.sandboxId).then((r) => r, (e: unknown) => e as { code?: string });
    const killing = client.kill(k.sandboxId).then((r) => r, (e: unknown) => e as { code?: string });
    // Both intents are stored (write-ahead: the engine is called only after).
    await waitUntil(() => events.some((e) => e.sandboxId === p.sandboxId && e.event === "pause") && events.some((e) => e.sandboxId === k.sandboxId && e.event === "kill"), { what: "the intents" });
    await server.disableJetStream();
    let outageOver = false;
    try {
      releasePause();
      releaseRemove();
      // The engine did both; neither outcome can be stored: the callers get unavailable, never ok.
      expect(await pausing).toMatchObject({ code: "unavailable", message: expect.stringMatching(/pausing outcome could not be stored/) });
      expect(await killing).toMatchObject({ code: "unavailable", message: expect.stringMatching(/killing outcome could not be stored/) });
      expect([await processState(p.sandboxId), await processState(k.sandboxId)]).toEqual(["paused", null]);
      await server.enableJetStream();
      outageOver = true;
    } finally {
      if (!outageOver) await server.enableJetStream();
    }
    await serving(p.sandboxId);
    // No restart: the node's reconciliation stores what the engine did, as the callers asked.
    const pausedRecord = await settled(p.sandboxId, (r) => r.state === "paused", "the pause reconciled");
    expect(pausedRecord).toMatchObject({ endAt: null, error: null });
    // A kill on the unhosted `killing` record works at once (the node settles it first, or its reconciliation did).
    const killedRecord = await waitUntil(() => client.kill(k.sandboxId).catch(() => null), { what: "kill on the unhosted record", timeoutMs: 20_000 });
    expect(killedRecord).toMatchObject({ state: "killed", killReason: "request" });
    // And the sandbox is hosted again: it takes commands.
    expect((await client.resume(p.sandboxId)).state).toBe("running");
    expect((await client.kill(p.sandboxId)).state).toBe("killed");
  });

  it("a process that dies during the outage leaves no live record once the store is back, and kill works on it", async () => {
    const [gone, killedByCaller] = await Promise.all([client.create({ timeoutMs: LONG }), client.create({ timeoutMs: LONG })]);
    await server.disableJetStream();
    try {
      for (const s of [gone, killedByCaller]) {
        const instance = (await processes.list(node.nodeId)).find((i) => i.sandboxId === s.sandboxId)!;
        process.kill(-Number(instance.handle.split(":")[1]), "SIGKILL");
      }
      await waitUntil(async () => (await processState(gone.sandboxId)) === null && (await processState(killedByCaller.sandboxId)) === null, { what: "the processes to die" });
    } finally {
      await server.enableJetStream();
    }
    await serving(gone.sandboxId);
    // A kill right away works on such a record...
    const killed = await waitUntil(() => client.kill(killedByCaller.sandboxId).catch(() => null), { what: "kill after the outage", timeoutMs: 20_000, intervalMs: 200 });
    expect(killed.state).toBe("killed");
    // ...and without any call the reconciliation kills the other one, as the table says (container_exited).
    const exited = await settled(gone.sandboxId, (r) => r.state === "killed", "the dead process's record killed");
    expect(exited.killReason).toBe("container_exited");
  });
});

describe("store outage (nats-server SIGKILLed and restarted)", () => {
  it("a pause done while the server was dead is stored once it is back, without restarting the node", async () => {
    const s = await client.create({ timeoutMs: LONG });
    const release = faults.hold("pause");
    const pausing = client.pause(s.sandboxId).then((r) => r, (e: unknown) => e as { code?: string });
    await waitUntil(() => events.some((e) => e.sandboxId === s.sandboxId && e.event === "pause"), { what: "the pause intent" });
    await server.kill();
    try {
      release();
      await waitUntil(async () => (await processState(s.sandboxId)) === "paused", { what: "the engine's pause" });
    } finally {
      await server.start();
    }
    await serving(s.sandboxId);
    // The reply that reaches the caller is never a success that was not stored.
    const reply = await pausing;
    if ("state" in (reply as object)) expect(reply).toMatchObject({ state: "paused" });
    else expect(reply).toMatchObject({ code: "unavailable" });
    const record = await settled(s.sandboxId, (r) => r.state === "paused", "the pause stored");
    expect(record.endAt).toBeNull();
    expect((await client.kill(s.sandboxId)).state).toBe("killed");
  });
});
