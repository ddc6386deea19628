// The warm pool wired into a real node (docs/warm-pool.md): a node started
// with `--warm base=2` on real Docker and a real nats-server. A create with no
// env and default resources claims a frozen member (its container becomes the
// sandbox's, `GET /id` through a real proxy answers the new id, record and
// events are a cold create's), the pool refills to 2, members hold capacity
// yet a ready one counts as free for a create it can serve (and is evicted
// for one it cannot), exec'd processes
// see the sandbox's id, engine events and reconciliation find a claimed
// container by its handle, and no member is ever listed as a sandbox.
import type Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type ProxyHandle } from "../../actors/proxy/index.js";
import { resolveConfig } from "../../src/config.js";
import type { SandboxId } from "../../src/ids.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { useCorral } from "../helpers/corral.js";
import { containerState, frozenMembersOf, requireDocker } from "../helpers/docker.js";
import { DOMAIN, via } from "../helpers/proxy-client.js";
import { waitUntil } from "../helpers/wait.js";

// Three slots: two members and one sandbox fill the node.
const corral = useCorral({ prefix: "warmnode", warm: ["base=2"], capacity: { sandboxes: 3 } });
let docker: Docker;
let store: SandboxStore;
let proxy: ProxyHandle;

/** Frozen, unclaimed members of the node's pool, as the engine lists them. */
async function frozenMembers(): Promise<Docker.ContainerInfo[]> {
  return frozenMembersOf(docker, corral.node.nodeId);
}

/** The node's `warm` count as `corral nodes` reports it. */
async function warmCount(): Promise<number> {
  const entry = (await corral.client.nodes()).items.find((n) => n.nodeId === corral.node.nodeId);
  return entry?.counts.warm ?? -1;
}

async function poolFull(n: number): Promise<void> {
  await waitUntil(async () => (await frozenMembers()).length === n && (await warmCount()) === n, { timeoutMs: 60_000, what: `${n} ready members` });
}

async function listedIds(): Promise<string[]> {
  return (await corral.client.list({})).items.map((s) => s.sandboxId);
}

beforeAll(async () => {
  docker = await requireDocker();
  const config = resolveConfig({}, {});
  store = await SandboxStore.open(corral.nc, config);
  proxy = await startProxy({ nc: await corral.nats.connect(), store, config, port: 0, domain: DOMAIN, host: "127.0.0.1" });
});

afterAll(async () => {
  await proxy?.close();
});

describe("node warm pool", () => {
  let claimedId = "" as SandboxId;

  it("fills to N frozen members that hold capacity, are counted as warm and never listed", async () => {
    await poolFull(2);
    const entry = (await corral.client.nodes()).items.find((n) => n.nodeId === corral.node.nodeId)!;
    expect(entry.allocation.sandboxes).toBe(2);
    expect(entry.counts.running).toBe(0);
    expect(await listedIds()).toEqual([]);
  });

  it("claims a member on a plain create: its container, the new id on GET /id through the proxy, a cold create's record and events", async () => {
    // A cold create (env set: no member can serve it) is the reference; it takes the last free slot.
    const cold = await corral.client.create({ env: { COLD: "1" } });
    const before = new Set((await frozenMembers()).map((c) => c.Id));
    expect(before.size).toBe(2);
    const created = await corral.client.create({});
    claimedId = created.sandboxId;
    expect(created.state).toBe("running");
    const stored = await store.get(created.sandboxId);
    expect(before.has(stored!.internal.handle!)).toBe(true);
    expect(await containerState(docker, stored!.internal.handle!)).toBe("running");
    const reply = await via("host", proxy.port, created.sandboxId, 8080, "/id", { token: created.trafficToken! });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe(created.sandboxId);

    const steps = (id: string) => corral.events.filter((e) => e.sandboxId === id).map((e) => `${e.from}>${e.to}:${e.event}`);
    await waitUntil(() => steps(cold.sandboxId).length >= 2 && steps(created.sandboxId).length >= 2, { what: "both creates' events" });
    expect(steps(created.sandboxId)).toEqual(steps(cold.sandboxId));
    expect(Object.keys(created).sort()).toEqual(Object.keys(cold).sort());
    expect(created.resources).toEqual(cold.resources);
    const coldStored = (await store.get(cold.sandboxId))!;
    expect(Object.keys(stored!.internal).sort()).toEqual(Object.keys(coldStored.internal).sort());
    expect(stored!.internal.endpoint).not.toBeNull();
    // The node is full (cold, claimed, one member): the refill stops at capacity until a slot frees.
    await poolFull(1);
    await corral.client.kill(cold.sandboxId);
  });

  it("refills to N once capacity frees; exec'd processes see the sandbox's id; the members are still not listed", async () => {
    await poolFull(2);
    expect(await listedIds()).toEqual([claimedId]);
    let out = "";
    const result = await corral.client.exec(claimedId, "sh", ["-c", 'printf %s "$CORRAL_SANDBOX_ID"'], { onStdout: (c) => (out += c.toString()) });
    expect(result.exitCode).toBe(0);
    expect(out).toBe(claimedId);
  });

  it("a full node admits a cold create by evicting a ready member, and a warm one by the member's reservation", async () => {
    // One sandbox and two members: all three slots are taken.
    expect((await corral.client.nodes()).items.find((n) => n.nodeId === corral.node.nodeId)!.allocation.sandboxes).toBe(3);
    const cold = await corral.client.create({ env: { COLD: "1" } });
    expect(cold.state).toBe("running");
    await poolFull(1); // one member evicted; no room to refill it
    const warm = await corral.client.create({});
    expect(warm.state).toBe("running");
    await poolFull(0);
    expect((await corral.client.nodes()).items.find((n) => n.nodeId === corral.node.nodeId)!.allocation.sandboxes).toBe(3);
    expect((await listedIds()).sort()).toEqual([claimedId, cold.sandboxId, warm.sandboxId].sort());
    await corral.client.kill(cold.sandboxId);
    await corral.client.kill(warm.sandboxId);
    await poolFull(2); // the kills freed two slots
  });

  it("reconciliation keeps the ready members and the claimed container; the engine's exit of a claimed container kills its sandbox", async () => {
    const members = (await frozenMembers()).map((c) => c.Id).sort();
    const summary = await corral.node.node.reconcile();
    expect(summary.orphansRemoved).toBe(0);
    expect((await frozenMembers()).map((c) => c.Id).sort()).toEqual(members);
    expect((await corral.client.get(claimedId)).state).toBe("running");

    const handle = (await store.get(claimedId))!.internal.handle!;
    await docker.getContainer(handle).kill();
    await waitUntil(async () => (await corral.client.get(claimedId)).state === "killed", { timeoutMs: 15_000, what: "the claimed sandbox to be killed" });
    expect((await corral.client.get(claimedId)).killReason).toBe("container_exited");
  });
});
