// A crash during a warm claim (docs/warm-pool.md): a `corral node --warm
// base=1` process (docker driver, real nats-server) SIGKILLs itself at the
// claim's engine call (CORRAL_CRASH_AT=claimMember:before|after,
// actors/node/crash-points.ts): the record is `starting` and the member is
// frozen (before) or thawed with the new id inside (after), and a refill
// may be half-made. After a restart the record is `killed` / `start_failed`
// (a create whose reply was lost is never adopted), no container of the
// earlier run is left (stray members are orphans), the new pool is full
// again with members of its own, no live record lacks its container, and
// no member is listed as a sandbox. A claimed sandbox outlives a SIGKILL of
// its node: the restart restores it by its record's handle (its container's
// id label is the member's) and replaces the ready member.
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { sandboxIdForKey, type NodeId } from "../../src/ids.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { containersOf, frozenMembersOf, getId, removeContainersOf, requireDocker, testNodeId } from "../helpers/docker.js";
import { startNats, type NatsServer } from "../helpers/nats.js";
import { spawnNode, type SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const nodeId: NodeId = testNodeId("warmcrash");
let server: NatsServer;
let docker: Docker;
let store: SandboxStore;
let client: CorralClient;
/** For the create the crash interrupts: it gets no reply, so it gives up soon. */
let doomed: CorralClient;
let node: SpawnedNode | null = null;

const spawn = (crashAt?: string) => spawnNode({ natsUrl: server.url, nodeId, warm: ["base=1"], env: crashAt ? { CORRAL_CRASH_AT: crashAt } : {} });

async function frozenMembers(): Promise<Docker.ContainerInfo[]> {
  return frozenMembersOf(docker, nodeId);
}

beforeAll(async () => {
  docker = await requireDocker();
  server = await startNats();
  store = await SandboxStore.open(await server.connect(), resolveConfig({}, {}));
  client = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 30_000 });
  doomed = await CorralClient.connect({ natsUrl: server.url, timeoutMs: 2_000 });
});

afterAll(async () => {
  await client?.close();
  await doomed?.close();
  await node?.stop();
  if (docker) await removeContainersOf(docker, nodeId);
  await server?.stop();
});

describe.each(["claimMember:before", "claimMember:after"])("a crash at %s", (crashAt) => {
  it("leaves no stray member and no live record without its container after the restart", async () => {
    await node?.stop();
    node = await spawn(crashAt);
    await waitUntil(async () => (await frozenMembers()).length === 1, { timeoutMs: 60_000, what: "a ready member" });
    const key = `warm-crash-${crashAt}`;
    const pending = doomed.create({ key }).catch((e: unknown) => e);
    await waitUntil(() => node!.child.signalCode === "SIGKILL", { what: `the node to die at ${crashAt}`, timeoutMs: 15_000 });
    await node.crash();
    await pending;
    const id = sandboxIdForKey(key);
    expect((await store.get(id))?.state).toBe("starting");
    const left = (await containersOf(docker, nodeId)).map((c) => c.Id);
    expect(left.length).toBeGreaterThanOrEqual(1);

    node = await spawn();
    const record = (await store.get(id))!;
    expect(record.state).toBe("killed");
    expect(record.killReason).toBe("start_failed");
    // Reconciliation ran before the node took commands: nothing of the earlier run is left.
    const now = await containersOf(docker, nodeId);
    expect(now.filter((c) => left.includes(c.Id))).toEqual([]);
    // The new pool fills with members of its own.
    await waitUntil(async () => (await frozenMembers()).length === 1, { timeoutMs: 60_000, what: "the new pool's member" });
    expect((await frozenMembers()).filter((c) => left.includes(c.Id))).toEqual([]);
    const ids = new Set((await containersOf(docker, nodeId)).map((c) => c.Id));
    for await (const r of store.scan()) {
      if (r.nodeId === nodeId && r.state !== "killed") expect(ids.has(r.internal.handle ?? "none")).toBe(true);
    }
    expect((await client.list({})).items).toEqual([]);
    // The restarted node serves a plain create from its pool.
    const created = await client.create({});
    expect(created.state).toBe("running");
    await client.kill(created.sandboxId);
  });
});

describe("a node killed with a claimed sandbox and a ready member", () => {
  it("restores the claimed sandbox on restart (matched by handle) and replaces the member", async () => {
    await node?.stop();
    node = await spawn();
    await waitUntil(async () => (await frozenMembers()).length === 1, { timeoutMs: 60_000, what: "a ready member" });
    const member = (await frozenMembers())[0]!.Id;
    const survivor = await client.create({});
    expect((await store.get(survivor.sandboxId))!.internal.handle).toBe(member);
    await waitUntil(async () => (await frozenMembers()).length === 1, { timeoutMs: 60_000, what: "the refill" });
    const oldMember = (await frozenMembers())[0]!.Id;
    await node.crash();

    node = await spawn();
    const record = (await store.get(survivor.sandboxId))!;
    expect(record.state).toBe("running");
    expect(record.internal.handle).toBe(member);
    expect(await getId(record.internal.endpoint!.host)).toBe(survivor.sandboxId);
    expect((await client.get(survivor.sandboxId)).state).toBe("running");
    await waitUntil(async () => (await frozenMembers()).length === 1, { timeoutMs: 60_000, what: "the new pool's member" });
    expect((await containersOf(docker, nodeId)).map((c) => c.Id)).not.toContain(oldMember);
    expect((await client.list({})).items.map((s) => s.sandboxId)).toEqual([survivor.sandboxId]);
    await client.kill(survivor.sandboxId);
  });
});
