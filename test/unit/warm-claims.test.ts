// The node's side of a warm claim (actors/node/warm/claims.ts) over a real
// WarmPool and CapacityLedger, with an in-memory engine standing in for
// Docker (the real engine is test/integration/node-warm.test.ts): which
// creates may take a member, how the member's reservation admits the
// create, and what happens to a member whose create never starts it.
import { describe, expect, it } from "vitest";
import { CapacityLedger } from "../../actors/node/capacity.js";
import { WarmClaims } from "../../actors/node/warm/claims.js";
import { nodeWarm } from "../../actors/node/warm/node-warm.js";
import { WarmPool, type PoolDriver } from "../../actors/node/warm/pool.js";
import type { SandboxDriver } from "../../src/drivers/types.js";
import { evictionsNeeded } from "../../src/capacity.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { newClusterId, newSandboxId, type NodeId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import { TemplateRegistry } from "../../src/templates.js";
import { waitUntil } from "../helpers/wait.js";

const resources = { cpu: 1, memoryMB: 512 };

function setup(slots: number, spec = new Map([["base", 1]]), refillDelayMs?: number) {
  const live = new Set<string>();
  const memberIds: string[] = [];
  let n = 0;
  /** While set, a member start waits for it (a start under way). */
  let held: Promise<void> | null = null;
  const driver: PoolDriver = {
    start: async () => {
      const handle = `c${n++}`;
      live.add(handle);
      if (held) await held;
      return { handle, endpoint: { host: "10.0.0.1", ports: {} } };
    },
    freezeMember: async () => undefined,
    remove: async (handle) => void live.delete(handle),
    claimMember: async () => ({ host: "10.0.0.1", ports: {} }),
  };
  const ledger = new CapacityLedger({ cpu: 100, memoryMB: 100_000, sandboxes: slots }, "freeze");
  const templates = new TemplateRegistry();
  const pool = new WarmPool({
    driver,
    nodeId: "n" as NodeId,
    clusterId: newClusterId(),
    spec,
    template: () => templates.get("base"), // the in-memory engine ignores the template
    resources,
    reserve: (need) => ledger.reserve(need),
    newMemberId: () => {
      const id = newSandboxId();
      memberIds.push(id);
      return id;
    },
    idFile: "/www/id",
    ...(refillDelayMs === undefined ? {} : { refillDelayMs }),
    onError: (err) => {
      throw err;
    },
  });
  /** Holds member starts until the returned function is called. */
  const holdStarts = (): (() => void) => {
    let open!: () => void;
    held = new Promise<void>((r) => (open = r));
    return () => {
      held = null;
      open();
    };
  };
  return { pool, ledger, live, memberIds, holdStarts, claims: new WarmClaims(pool, resources, logger("test")) };
}

describe("WarmClaims", () => {
  it("lets only a create of a pooled template with no env and the members' resources take a member", async () => {
    const { pool, claims } = setup(10);
    await pool.refill();
    expect(claims.take(newSandboxId(), { template: "base", env: { A: "1" }, resources })).toBeNull();
    expect(claims.take(newSandboxId(), { template: "base", env: {}, resources: { cpu: 2, memoryMB: 512 } })).toBeNull();
    expect(claims.take(newSandboxId(), { template: "other", env: {}, resources })).toBeNull();
    expect(pool.counts()).toEqual({ base: 1 });
    expect(claims.take(newSandboxId(), { template: "base", env: {}, resources })).toMatchObject({ ok: true });
    expect(pool.counts()).toEqual({ base: 0 });
  });

  it("admits a create on a node full of members: the member's reservation is the create's", async () => {
    const { pool, ledger, memberIds, claims } = setup(1);
    await pool.refill();
    expect(ledger.shortfall(resources)).not.toBeNull();
    const id = newSandboxId();
    const taken = claims.take(id, { template: "base", env: {}, resources })!;
    const started = await claims.start(id, () => Promise.reject(new Error("must not start cold")));
    expect(started.handle).toBe("c0");
    expect(pool.owns(memberIds[0]!)).toBe(true); // until the create is answered, reconciliation leaves it alone
    taken.release();
    expect(ledger.allocation.sandboxes).toBe(0);
    claims.settle(id);
    await new Promise(setImmediate); // the finished claim's settlement runs behind it
    expect(pool.owns(memberIds[0]!)).toBe(false);
  });

  it("keeps a member whose claim outlived its create's wait owned until the machine's start has settled", async () => {
    const { pool, memberIds, claims } = setup(10);
    await pool.refill();
    const id = newSandboxId();
    claims.take(id, { template: "base", env: {}, resources });
    const claim = claims.start(id, () => Promise.reject(new Error("must not start cold")));
    let machineSettled!: () => void;
    claims.settle(id, () => new Promise<void>((r) => (machineSettled = r))); // the create was answered (timed out) first
    await claim;
    await new Promise((r) => setTimeout(r, 10));
    expect(pool.owns(memberIds[0]!)).toBe(true); // on the old code: released when the claim ended
    machineSettled();
    await waitUntil(() => !pool.owns(memberIds[0]!), { what: "the member released once the start settled" });
  });

  it("removes a taken member whose create never started it, and starts cold when none was taken", async () => {
    const { pool, ledger, live, claims } = setup(10);
    await pool.refill();
    const id = newSandboxId();
    claims.take(id, { template: "base", env: {}, resources });
    claims.settle(id); // e.g. another create held the id
    await pool.refill();
    expect(live.has("c0")).toBe(false);
    expect(pool.counts()).toEqual({ base: 1 });
    expect(ledger.allocation.sandboxes).toBe(1);
    const cold = await claims.start(newSandboxId(), async () => ({ handle: "cold", endpoint: { host: "h", ports: {} } }));
    expect(cold.handle).toBe("cold");
  });
});

describe("WarmPool refill after a claim", () => {
  it("waits refillDelayMs after the claim settles before starting the replacement", async () => {
    const { pool, live, claims } = setup(10, new Map([["base", 1]]), 40);
    await pool.refill();
    const id = newSandboxId();
    claims.take(id, { template: "base", env: {}, resources });
    await claims.start(id, () => Promise.reject(new Error("must not start cold")));
    const settledAt = Date.now();
    claims.settle(id);
    await new Promise((r) => setTimeout(r, 10));
    expect(pool.counts()).toEqual({ base: 0 });
    expect(live.size).toBe(1); // the claimed container only: no replacement started yet
    await waitUntil(() => pool.counts().base === 1, { what: "the delayed refill" });
    expect(Date.now() - settledAt).toBeGreaterThanOrEqual(40);
    expect(live.size).toBe(2);
  });
});

describe("WarmClaims.admit (members never starve real creates)", () => {
  const withEnv = { cpu: 1, memoryMB: 512 };

  it("admits a create that cannot take a member on a node full of members by evicting the fewest, from the fullest template", async () => {
    const { pool, ledger, live, claims } = setup(3, new Map([["base", 2], ["py", 1]]));
    await pool.refill();
    expect(pool.counts()).toEqual({ base: 2, py: 1 });
    expect(ledger.reserve(withEnv).ok).toBe(false);
    const admitted = claims.admit(ledger, newSandboxId(), withEnv);
    expect(admitted.ok).toBe(true);
    expect(pool.counts()).toEqual({ base: 1, py: 1 });
    expect(ledger.allocation.sandboxes).toBe(3); // two members and the create
    await pool.refill(); // no room while the create holds it: the pool stays short
    expect(live.size).toBe(2);
    expect(pool.counts()).toEqual({ base: 1, py: 1 });
    if (admitted.ok) admitted.release();
    await pool.refill(); // room again: the pool refills
    expect(pool.counts()).toEqual({ base: 2, py: 1 });
  });

  it("evicts nothing when the create fits as is, or when evicting every ready member would not make room", async () => {
    const { pool, ledger, live, claims } = setup(3, new Map([["base", 2]]));
    await pool.refill();
    const fits = claims.admit(ledger, newSandboxId(), withEnv);
    expect(fits.ok).toBe(true);
    expect(pool.counts()).toEqual({ base: 2 });
    const tooBig = claims.admit(ledger, newSandboxId(), { cpu: 1, memoryMB: 200_000 });
    expect(tooBig).toMatchObject({ ok: false });
    expect(pool.counts()).toEqual({ base: 2 });
    expect(live.size).toBe(2);
    expect(ledger.allocation.sandboxes).toBe(3);
  });

  it("evicts a member still being started: its room goes to the create at once, and its container is removed when its start returns", async () => {
    const { pool, ledger, live, memberIds, holdStarts, claims } = setup(2, new Map([["base", 2]]));
    const open = holdStarts();
    const refill = pool.refill();
    await waitUntil(() => live.size === 1, { what: "the first member's start under way" });
    expect(ledger.allocation.sandboxes).toBe(1);
    const other = ledger.reserve(withEnv); // the node's other slot goes to a sandbox
    expect(other.ok).toBe(true);
    const admitted = claims.admit(ledger, newSandboxId(), withEnv);
    expect(admitted.ok).toBe(true); // on the old code: refused, the starting member held the room
    expect(ledger.allocation.sandboxes).toBe(2);
    open();
    await refill;
    expect(live.size).toBe(0); // the cancelled member's container is gone, no other was started (no room)
    expect(pool.counts()).toEqual({ base: 0 });
    expect(pool.owns(memberIds[0]!)).toBe(false);
    if (admitted.ok) admitted.release();
    await pool.refill();
    expect(pool.counts()).toEqual({ base: 1 });
  });

  it("never evicts a taken member", async () => {
    const { pool, ledger, claims } = setup(1);
    await pool.refill();
    claims.take(newSandboxId(), { template: "base", env: {}, resources });
    expect(claims.admit(ledger, newSandboxId(), withEnv)).toMatchObject({ ok: false });
    expect(ledger.allocation.sandboxes).toBe(1);
  });
});

describe("evictionsNeeded", () => {
  const capacity = { cpu: 4, memoryMB: 2048, sandboxes: 4 };
  it("is 0 when it fits, the fewest members that make room, or null", () => {
    expect(evictionsNeeded(capacity, { cpu: 3, memoryMB: 1536, sandboxes: 3 }, resources, resources, 3)).toBe(0);
    expect(evictionsNeeded(capacity, { cpu: 4, memoryMB: 2048, sandboxes: 4 }, resources, resources, 4)).toBe(1);
    expect(evictionsNeeded(capacity, { cpu: 4, memoryMB: 2048, sandboxes: 4 }, { cpu: 2, memoryMB: 1024 }, resources, 4)).toBe(2);
    expect(evictionsNeeded(capacity, { cpu: 4, memoryMB: 2048, sandboxes: 4 }, { cpu: 2, memoryMB: 1024 }, resources, 1)).toBeNull();
    expect(evictionsNeeded(capacity, { cpu: 4, memoryMB: 2048, sandboxes: 4 }, resources, resources, 0)).toBeNull();
  });
});

describe("nodeWarm", () => {
  it("keeps no pool without a spec and refuses one on the process driver", () => {
    const base = { nodeId: "n" as NodeId, clusterId: newClusterId(), templates: new TemplateRegistry(), ledger: new CapacityLedger({ cpu: 1, memoryMB: 1, sandboxes: 1 }, "freeze"), log: logger("test"), onChange: () => undefined };
    const driver = { kind: "process" } as SandboxDriver; // nodeWarm reads only its kind and whether it can claim
    expect(nodeWarm({ ...base, spec: new Map(), driver })).toBeNull();
    expect(() => nodeWarm({ ...base, spec: new Map([["base", 1]]), driver })).toThrow(InvalidArgumentError);
  });
});
