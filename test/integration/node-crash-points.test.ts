// Crash points of every multi-step node operation (docs/lifecycle.md, "Crash
// points"): a `corral node` process (process driver, real nats-server) kills
// itself with SIGKILL at the engine call of create, pause, resume, kill and a
// deadline, just before it (the intent is stored) or just after it (the
// engine acted, the outcome is not stored), armed by CORRAL_CRASH_AT
// (actors/node/crash-points.ts); the third point, after the outcome, is a
// SIGKILL from the test once the outcome's event is out. After a restart
// on the same data dir the record shows what the caller asked for (state,
// killReason) and the sandbox's process agrees with it. (The intent's event
// leaves behind the command's reply, so a crash before the reply loses it:
// "events follow writes" is issue 14 item 3; the outcome's event is checked.)
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import { subscribeEvents, type SandboxEvent } from "../../src/events.js";
import { sandboxIdForKey, type NodeId } from "../../src/ids.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { testNodeId } from "../helpers/docker.js";
import { startNats, type NatsServer } from "../helpers/nats.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const LONG = 600_000;
const PAUSE_ON_TIMEOUT = { onTimeout: "pause", autoResume: false, idle: false } as const;

let server: NatsServer;
let watcher: NatsConnection;
let client: CorralClient;
/** For the requests a crash interrupts: they get no reply, so they give up soon. */
let doomed: CorralClient;
let node: SpawnedNode;
let processes: ProcessDriver;
const nodeId: NodeId = testNodeId("crashpt");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-${nodeId}-`));
const events: SandboxEvent[] = [];

const spawn = (crashAt?: string) =>
  spawnNode({ natsUrl: server.url, nodeId, dataDir, driver: "process", env: crashAt ? { CORRAL_CRASH_AT: crashAt } : {} });

beforeAll(async () => {
  server = await startNats();
  watcher = await server.connect();
  subscribeEvents(watcher, (e) => events.push(e));
  node = await spawn();
  client = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 30_000 });
  doomed = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 2_000 });
  processes = new ProcessDriver({ dataDir });
});

afterAll(async () => {
  await client?.close();
  await doomed?.close();
  await node?.stop();
  await processes?.close();
  await removeSandboxesOf("process", nodeId, dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  await server?.stop();
});

/**
 * Restarts the node with `crashAt` armed, runs `act` (which reaches the crash
 * point), waits for the node to die by its own SIGKILL, then starts it
 * again unarmed: it reconciles before it takes commands.
 */
async function crashAt(crashAt: string, act: () => Promise<unknown>): Promise<void> {
  await node.stop();
  node = await spawn(crashAt);
  const pending = act().catch((e: unknown) => e);
  await waitUntil(() => node.child.signalCode === "SIGKILL", { what: `the node to die at ${crashAt}`, timeoutMs: 15_000 });
  await node.crash(); // waits until nats-server has dropped the dead node
  await pending;
  node = await spawn();
}

/** The sandbox's process as the engine reports it (null: none). */
async function processState(id: string): Promise<string | null> {
  const instance = (await processes.list(nodeId)).find((i) => i.sandboxId === id);
  return instance?.state ?? null;
}

/** Record and process agree: a running/paused process for a running/paused record, none for a killed one. */
async function expectConsistent(record: SandboxRecord): Promise<void> {
  expect(await processState(record.sandboxId)).toBe(record.state === "killed" ? null : record.state);
}

const eventsOf = (id: string) => events.filter((e) => e.sandboxId === id).map((e) => e.event);

describe("crash points (SIGKILL of the node at each step, then a restart)", () => {
  it.each(["before", "after"] as const)("create, %s the engine call: killed / start_failed, nothing left; the same key starts a new incarnation", async (when) => {
    const key = `crash-create-${when}`;
    await crashAt(`start:${when}`, () => doomed.create({ key, timeoutMs: LONG }));
    const id = sandboxIdForKey(key);
    const record = await client.get(id);
    expect(record).toMatchObject({ state: "killed", killReason: "start_failed" });
    await expectConsistent(record);
    const again = await client.create({ key, timeoutMs: LONG });
    expect(again).toMatchObject({ sandboxId: id, state: "running", created: true });
    await client.kill(again.sandboxId);
  });

  it.each(["before", "after"] as const)("pause, %s the engine call: paused", async (when) => {
    const s = await client.create({ timeoutMs: LONG });
    await crashAt(`pause:${when}`, () => doomed.pause(s.sandboxId));
    const record = await client.get(s.sandboxId);
    expect(record).toMatchObject({ state: "paused", endAt: null, error: null });
    await expectConsistent(record);
    expect(eventsOf(s.sandboxId).at(-1)).toBe("paused");
    expect((await client.resume(s.sandboxId)).state).toBe("running");
    await client.kill(s.sandboxId);
  });

  it.each(["before", "after"] as const)("resume, %s the engine call: running with a new deadline", async (when) => {
    const s = await client.create({ timeoutMs: LONG });
    await client.pause(s.sandboxId);
    const before = Date.now();
    await crashAt(`resume:${when}`, () => doomed.resume(s.sandboxId, { timeoutMs: 120_000 }));
    const record = await client.get(s.sandboxId);
    expect(record).toMatchObject({ state: "running", timeoutMs: 120_000, error: null });
    expect(record.startedAt!).toBeGreaterThanOrEqual(before);
    expect(record.endAt).toBe(record.startedAt! + 120_000);
    await expectConsistent(record);
    expect(eventsOf(s.sandboxId).at(-1)).toBe("resumed");
    await client.kill(s.sandboxId);
  });

  it.each(["before", "after"] as const)("kill, %s the engine call: killed / request (not container_exited)", async (when) => {
    const s = await client.create({ timeoutMs: LONG });
    await crashAt(`remove:${when}`, () => doomed.kill(s.sandboxId));
    const record = await client.get(s.sandboxId);
    expect(record).toMatchObject({ state: "killed", killReason: "request" });
    await expectConsistent(record);
    expect(eventsOf(s.sandboxId).at(-1)).toBe("killed");
    expect(eventsOf(s.sandboxId)).not.toContain("container_exited");
  });

  it.each(["before", "after"] as const)("timeout (onTimeout kill), %s the engine call: killed / timeout", async (when) => {
    let s: SandboxRecord | undefined;
    await crashAt(`remove:${when}`, async () => {
      s = await client.create({ timeoutMs: 1_000 });
    });
    const record = await client.get(s!.sandboxId);
    expect(record).toMatchObject({ state: "killed", killReason: "timeout" });
    await expectConsistent(record);
    expect(eventsOf(s!.sandboxId).at(-1)).toBe("killed");
  });

  it.each(["before", "after"] as const)("timeout (onTimeout pause), %s the engine call: paused", async (when) => {
    let s: SandboxRecord | undefined;
    await crashAt(`pause:${when}`, async () => {
      s = await client.create({ timeoutMs: 1_000, lifecycle: PAUSE_ON_TIMEOUT });
    });
    const record = await client.get(s!.sandboxId);
    expect(record).toMatchObject({ state: "paused", endAt: null });
    await expectConsistent(record);
    expect(eventsOf(s!.sandboxId).at(-1)).toBe("paused");
    await client.kill(s!.sandboxId);
  });

  it("after the outcome (create, pause, resume, kill): every stored outcome stands", async () => {
    const [created, paused, resumed, killed] = await Promise.all([1, 2, 3, 4].map(() => client.create({ timeoutMs: LONG })));
    await client.pause(resumed!.sandboxId);
    await Promise.all([client.pause(paused!.sandboxId), client.resume(resumed!.sandboxId), client.kill(killed!.sandboxId)]);
    await node.crash();
    node = await spawn();
    const expected: Record<string, Partial<SandboxRecord>> = {
      [created!.sandboxId]: { state: "running" },
      [paused!.sandboxId]: { state: "paused" },
      [resumed!.sandboxId]: { state: "running" },
      [killed!.sandboxId]: { state: "killed", killReason: "request" },
    };
    for (const [id, want] of Object.entries(expected)) {
      const record = await client.get(id);
      expect(record).toMatchObject(want);
      await expectConsistent(record);
    }
    for (const id of Object.keys(expected)) await client.kill(id);
  });
});
