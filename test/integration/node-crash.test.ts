// Crash tests (issue 4): a `corral node` child process (docker driver) is
// killed with SIGKILL in the middle of create, pause, resume and kill, and
// while deadlines are pending. After a restart with the same node id and data
// dir every sandbox ends in a consistent state (record == container), timers
// fire at the original endAt (±1 s), and no container without a record is left.
import type Docker from "dockerode";
import type { NatsConnection } from "@nats-io/nats-core";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { subscribeEvents, type SandboxEvent } from "../../src/events.js";
import type { NodeId } from "../../src/ids.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { readClusterId } from "../../src/store/index.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { containerState, containersOf, requireDocker, testNodeId } from "../helpers/docker.js";
import { startNats, type NatsServer } from "../helpers/nats.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

let server: NatsServer;
let docker: Docker;
let client: CorralClient;
/** For the requests a crash interrupts: they get no reply, so they should give up soon. */
let doomed: CorralClient;
let watcher: NatsConnection;
let node: SpawnedNode;
const nodeId: NodeId = testNodeId("crash");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-${nodeId}-`));
const templatesFile = path.join(dataDir, "templates.json");
const events: SandboxEvent[] = [];

/** `slow` never becomes ready (nothing listens on 8081): a create stays `starting` until its 30 s bound. */
fs.writeFileSync(templatesFile, JSON.stringify([{ ...BASE_TEMPLATE, name: "slow", readyPort: 8081 }]));

const start = () => spawnNode({ natsUrl: server.url, nodeId, dataDir, env: { CORRAL_TEMPLATES_FILE: templatesFile } });

beforeAll(async () => {
  docker = await requireDocker();
  server = await startNats();
  watcher = await server.connect();
  subscribeEvents(watcher, (e) => events.push(e));
  node = await start();
  client = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 30_000 });
  doomed = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 3_000 });
});

afterAll(async () => {
  await client?.close();
  await doomed?.close();
  await node?.stop();
  await removeSandboxesOf("docker", nodeId, dataDir);
  fs.rmSync(dataDir, { recursive: true, force: true });
  await server?.stop();
});

const eventOf = (id: string, event: string) => events.find((e) => e.sandboxId === id && e.event === event);
const waitEvent = (id: string, event: string, timeoutMs = 10_000) => waitUntil(() => eventOf(id, event), { what: `${event} of ${id}`, timeoutMs });

/** Crashes the node, then starts it again on the same data dir (it reconciles before it takes commands). */
async function crashAndRestart(): Promise<void> {
  await node.crash();
  node = await start();
}

async function containerOf(id: string): Promise<string | null> {
  const list = await docker.listContainers({ all: true, filters: { label: [`corral.sandbox-id=${id}`] } });
  return list[0]?.Id ?? null;
}

/** The record and the container agree: running/paused containers for running/paused records, none for killed ones. */
async function expectConsistent(record: SandboxRecord): Promise<void> {
  const handle = await containerOf(record.sandboxId);
  if (record.state === "killed") {
    expect(handle).toBeNull();
    return;
  }
  expect(["running", "paused"]).toContain(record.state);
  expect(handle).not.toBeNull();
  expect(await containerState(docker, handle!)).toBe(record.state);
}

describe("node crashes (SIGKILL) and restarts", () => {
  it("in the middle of create: the sandbox is killed (start_failed), its container removed", async () => {
    const creating = doomed.create({ template: "slow" }).catch((e: unknown) => e);
    const first = await waitUntil(() => events.find((e) => e.event === "create" && e.record.template === "slow"), { what: "the create write" });
    await waitUntil(() => containerOf(first.sandboxId), { what: "the container being started" });
    await crashAndRestart();
    expect(await creating).toMatchObject({ code: "unavailable" });
    const record = await client.get(first.sandboxId);
    expect(record).toMatchObject({ state: "killed", killReason: "start_failed" });
    expect(record.error?.message).toMatch(/restarted/);
    await expectConsistent(record);
  });

  it("in the middle of pause, resume and kill: each ends consistent and completed", async () => {
    const [p, r, k] = await Promise.all([client.create({ timeoutMs: 600_000 }), client.create({ timeoutMs: 600_000 }), client.create({ timeoutMs: 600_000 })]);
    await client.pause(r.sandboxId);
    const calls = [doomed.pause(p.sandboxId), doomed.resume(r.sandboxId), doomed.kill(k.sandboxId)].map((c) => c.catch((e: unknown) => e));
    // Crash as soon as all three transitions are written, while the driver calls are under way.
    await Promise.all([waitEvent(p.sandboxId, "pause"), waitEvent(r.sandboxId, "resume"), waitEvent(k.sandboxId, "kill")]);
    await crashAndRestart();
    await Promise.all(calls);

    // Reconciliation drives each interrupted operation to completion.
    const settled = async (id: string, state: string) =>
      waitUntil(async () => {
        const rec = await client.get(id);
        return rec.state === state && rec;
      }, { what: `${id} ${state}`, timeoutMs: 15_000 });
    await expectConsistent(await settled(p.sandboxId, "paused"));
    await expectConsistent(await settled(r.sandboxId, "running"));
    const killed = await settled(k.sandboxId, "killed");
    expect(killed.killReason).toBe("request");
    await expectConsistent(killed);
    // The restored actors take commands again.
    expect((await client.resume(p.sandboxId)).state).toBe("running");
    expect((await client.kill(p.sandboxId)).state).toBe("killed");
    expect((await client.kill(r.sandboxId)).state).toBe("killed");
  });

  it("deadlines survive the crash: a pending one fires at its original endAt, a passed one at once", async () => {
    // `later` is far enough out that the node is back before it, also on a machine loaded by a whole suite.
    const [later, passed] = await Promise.all([client.create({ timeoutMs: 11_000 }), client.create({ timeoutMs: 2_000 })]);
    await node.crash();
    // Down for longer than `passed` has left: its deadline goes by while no node is up.
    await waitUntil(() => Date.now() > passed.endAt! + 500, { what: "the passed deadline", intervalMs: 100 });
    node = await start();
    const upAt = Date.now();
    // Else `later` would be a second passed deadline, and its firing at once would not show that a pending one waits.
    expect(upAt, "the node is back before the later deadline").toBeLessThan(later.endAt! - 1_000);
    const passedKill = await waitEvent(passed.sandboxId, "timeout");
    expect(passedKill.at - upAt).toBeLessThan(1_000);
    const laterKill = await waitEvent(later.sandboxId, "timeout", 15_000);
    expect(Math.abs(laterKill.at - later.endAt!)).toBeLessThanOrEqual(1_000);
    for (const s of [later, passed]) {
      await waitUntil(async () => (await client.get(s.sandboxId)).state === "killed", { what: "killed" });
      await expectConsistent(await client.get(s.sandboxId));
    }
  });

  it("leaves no container without a live record of this node", async () => {
    const survivor = await client.create({ timeoutMs: 600_000 });
    // A container of this node and cluster that no record names (e.g. left by a crash before the record was written).
    const cluster = (await readClusterId(watcher))!;
    await docker.createContainer({ Image: BASE_TEMPLATE.image, Labels: { "corral.sandbox-id": "orphan0000000000000a", "corral.cluster": cluster, "corral.node-id": nodeId } });
    await crashAndRestart();
    const containers = await containersOf(docker, nodeId);
    expect(containers.map((c) => c.Labels["corral.sandbox-id"])).toEqual([survivor.sandboxId]);
    await expectConsistent(await client.get(survivor.sandboxId));
    await client.kill(survivor.sandboxId);
    expect(await containersOf(docker, nodeId)).toEqual([]);
  });
});
