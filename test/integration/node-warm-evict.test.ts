// Members never starve real creates (docs/warm-pool.md, issue 19): a real node
// on real Docker and a real nats-server whose whole capacity (two slots) is
// held by two warm members. A create no member can serve (it sets `env`)
// goes through the real API's scheduler and the node's admission: a ready
// member is evicted (its container removed, its reservation ended), the
// create runs, no member is listed, and the pool refills only once the
// sandbox's capacity frees.
import type Docker from "dockerode";
import { beforeAll, describe, expect, it } from "vitest";
import { useCorral } from "../helpers/corral.js";
import { containerState, frozenMembersOf, requireDocker } from "../helpers/docker.js";
import { waitUntil } from "../helpers/wait.js";

const corral = useCorral({ prefix: "warmevict", warm: ["base=2"], capacity: { sandboxes: 2 } });
let docker: Docker;

/** Frozen, unclaimed members of the node's pool, as the engine lists them. */
async function frozenMembers(): Promise<string[]> {
  return (await frozenMembersOf(docker, corral.node.nodeId)).map((c) => c.Id);
}

async function nodeEntry() {
  const entry = (await corral.client.nodes()).items.find((n) => n.nodeId === corral.node.nodeId);
  if (!entry) throw new Error(`node ${corral.node.nodeId} is not listed`);
  return entry;
}

async function poolFull(n: number): Promise<void> {
  await waitUntil(async () => (await frozenMembers()).length === n && (await nodeEntry()).counts.warm === n, { timeoutMs: 60_000, what: `${n} ready members` });
}

beforeAll(async () => {
  docker = await requireDocker();
});

describe("warm members never starve real creates", () => {
  it("a node whose capacity is all members admits a create with env by evicting one member", async () => {
    await poolFull(2);
    expect((await nodeEntry()).allocation.sandboxes).toBe(2);
    const before = await frozenMembers();

    const created = await corral.client.create({ env: { COLD: "1" } });
    expect(created.state).toBe("running");

    // Exactly one of the members was removed from the engine; the other is still frozen.
    await waitUntil(async () => (await Promise.all(before.map((id) => containerState(docker, id)))).filter((s) => s === "missing").length === 1, {
      timeoutMs: 15_000,
      what: "one evicted member's container to be removed",
    });
    const states = await Promise.all(before.map((id) => containerState(docker, id)));
    expect(states.sort()).toEqual(["missing", "paused"]);
    // The sandbox and the remaining member fill the node: the pool stays short.
    await poolFull(1);
    // State counts reach the lease with its next heartbeat (a move between quota-holding states writes no early lease).
    await waitUntil(async () => (await nodeEntry()).counts.running === 1, { timeoutMs: 15_000, what: "the running sandbox in the node's counts" });
    expect((await nodeEntry()).allocation.sandboxes).toBe(2);
    expect((await corral.client.list({})).items.map((s) => s.sandboxId)).toEqual([created.sandboxId]);

    await corral.client.kill(created.sandboxId);
    await poolFull(2); // capacity freed: the pool refills
    expect((await corral.client.list({})).items.filter((s) => s.state !== "killed")).toEqual([]);
  });

  it("a create with non-default resources is admitted the same way", async () => {
    await poolFull(2);
    const created = await corral.client.create({ resources: { cpu: 0.5, memoryMB: 256 } });
    expect(created.state).toBe("running");
    await poolFull(1);
    expect((await corral.client.list({})).items.filter((s) => s.state !== "killed").map((s) => s.sandboxId)).toEqual([created.sandboxId]);
    await corral.client.kill(created.sandboxId);
    await poolFull(2);
  });
});
