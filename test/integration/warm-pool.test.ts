// The node's WarmPool class against the real engine and the real capacity
// ledger (the node's use of it: node-warm*.test.ts; docs/warm-pool.md): fill,
// capacity accounting, claim with the new id on GET /id, refill, stop, and
// which member a claim or an eviction takes.
import type Docker from "dockerode";
import { beforeAll, describe, expect, it } from "vitest";
import { CapacityLedger } from "../../actors/node/capacity.js";
import { WarmPool } from "../../actors/node/warm/pool.js";
import { DockerDriver } from "../../src/drivers/docker.js";
import { newSandboxId } from "../../src/ids.js";
import { TemplateRegistry } from "../../src/templates.js";
import { containerState, frozenMembersOf, getId } from "../helpers/docker.js";
import { useDockerDriver } from "../helpers/docker-driver.js";

const fx = useDockerDriver("warmpool");
const { nodeId, clusterId } = fx;
const templates = new TemplateRegistry();
const resources = { cpu: 0.5, memoryMB: 64 };
let docker: Docker;
let driver: DockerDriver;
beforeAll(() => void ({ docker, driver } = fx));

function pool(ledger: CapacityLedger, n: number, errors: unknown[] = [], poolDriver: DockerDriver = driver): WarmPool {
  return new WarmPool({
    driver: poolDriver,
    nodeId,
    clusterId,
    spec: new Map([["base", n]]),
    template: (name) => templates.get(name),
    resources,
    reserve: (need) => ledger.reserve(need),
    newMemberId: newSandboxId,
    idFile: "/www/id",
    onError: (err) => errors.push(err),
  });
}

async function frozenMembers(): Promise<Docker.ContainerInfo[]> {
  return frozenMembersOf(docker, nodeId);
}

describe("WarmPool", () => {
  it("fills to N frozen members that hold capacity, hands one out with its new id, and refills", async () => {
    const ledger = new CapacityLedger({ cpu: 8, memoryMB: 4096, sandboxes: 10 }, "freeze");
    const p = pool(ledger, 2);
    await p.refill();
    expect(p.counts()).toEqual({ base: 2 });
    expect(await frozenMembers()).toHaveLength(2);
    expect(ledger.allocation).toMatchObject({ cpu: 1, memoryMB: 128, sandboxes: 2 });

    const sandboxId = newSandboxId();
    const claimed = await p.claim("base", sandboxId);
    expect(claimed).not.toBeNull();
    const res = await fetch(`http://${claimed!.endpoint.host}:8080/id`, { signal: AbortSignal.timeout(2_000) });
    expect(await res.text()).toBe(sandboxId);
    expect(await containerState(docker, claimed!.handle)).toBe("running");

    await p.refill(); // the claim started one; this awaits it
    expect(p.counts()).toEqual({ base: 2 });
    expect(await frozenMembers()).toHaveLength(2);
    // Two members plus the claimed one, until the caller hands its reservation to the sandbox.
    expect(ledger.allocation.sandboxes).toBe(3);
    claimed!.release();
    expect(ledger.allocation.sandboxes).toBe(2);

    await p.stop();
    expect(p.counts()).toEqual({ base: 0 });
    expect(await frozenMembers()).toHaveLength(0);
    expect(ledger.allocation.sandboxes).toBe(0);
    await driver.remove(claimed!.handle);
  });

  it("freezes members through their freezer cgroup (Docker lists them running, they do not answer) and the claimed sandbox pauses and resumes through Docker", async () => {
    const p = pool(new CapacityLedger({ cpu: 8, memoryMB: 4096, sandboxes: 10 }, "freeze"), 1);
    await p.refill();
    const [member] = await frozenMembers();
    expect(member?.State).toBe("running"); // Docker's own view: it never paused it
    const host = (await docker.getContainer(member!.Id).inspect()).NetworkSettings.Networks["bridge"]!.IPAddress;
    await expect(getId(host, 500)).rejects.toThrow();

    const sandboxId = newSandboxId();
    const claimed = await p.claim("base", sandboxId);
    expect(claimed?.handle).toBe(member!.Id);
    expect(await getId(claimed!.endpoint.host)).toBe(sandboxId);
    await driver.pause(claimed!.handle, "freeze");
    expect((await docker.getContainer(claimed!.handle).inspect()).State.Paused).toBe(true);
    await expect(getId(claimed!.endpoint.host, 500)).rejects.toThrow();
    await driver.resume(claimed!.handle, "freeze");
    expect(await getId(claimed!.endpoint.host)).toBe(sandboxId);
    claimed!.release();
    await p.stop();
    await driver.remove(claimed!.handle);
  });

  it("freezes members with docker pause where it finds no freezer cgroup, and claims them with an unpause", async () => {
    const noFreezer = new DockerDriver({ docker, freezerRoots: { proc: "/nonexistent", cgroup: "/nonexistent" } });
    const p = pool(new CapacityLedger({ cpu: 8, memoryMB: 4096, sandboxes: 10 }, "freeze"), 1, [], noFreezer);
    await p.refill();
    const [member] = await frozenMembers();
    expect(member?.State).toBe("paused");
    const sandboxId = newSandboxId();
    const claimed = await p.claim("base", sandboxId);
    expect(claimed?.handle).toBe(member!.Id);
    expect(await getId(claimed!.endpoint.host)).toBe(sandboxId);
    expect(await containerState(docker, claimed!.handle)).toBe("running");
    claimed!.release();
    await p.stop();
    await noFreezer.remove(claimed!.handle);
    await noFreezer.close();
  });

  it("never takes more capacity than the node has, and answers null with no member ready", async () => {
    const ledger = new CapacityLedger({ cpu: 8, memoryMB: 4096, sandboxes: 1 }, "freeze");
    const p = pool(ledger, 3);
    await p.refill();
    expect(p.counts()).toEqual({ base: 1 });
    expect(ledger.shortfall(resources)).not.toBeNull();
    expect(await p.claim("other", newSandboxId())).toBeNull();
    await p.stop();
    expect(await p.claim("base", newSandboxId())).toBeNull();
    expect(ledger.allocation.sandboxes).toBe(0);
  });

  it("hands out the newest member first (a thaw is faster after a short freeze) and evicts the oldest", async () => {
    const ledger = new CapacityLedger({ cpu: 8, memoryMB: 4096, sandboxes: 10 }, "freeze");
    const p = pool(ledger, 3);
    await p.refill(); // one member at a time: started in order
    const created = await Promise.all((await frozenMembers()).map(async (c) => ({ info: c, at: (await docker.getContainer(c.Id).inspect()).Created })));
    const byAge = created.sort((a, b) => a.at.localeCompare(b.at)).map((c) => c.info);
    expect(byAge).toHaveLength(3);
    expect(p.evict(1)).toEqual([byAge[0]!.Labels["corral.pool-member"]]);
    const claimed = await p.claim("base", newSandboxId());
    expect(claimed?.handle).toBe(byAge[2]!.Id);
    claimed!.release();
    await p.stop();
    await driver.remove(claimed!.handle);
  });
});
