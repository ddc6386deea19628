// Scheduling across nodes (issue 5): three `corral node` processes with
// different capacities. Placement follows free capacity (each node ends at
// the same fraction used); a full cluster answers capacity_exhausted naming
// every node's shortfall; after SIGKILL of one node its sandboxes' operations
// answer `unavailable` (never a guess) while creates go to the other two,
// even while the dead node's lease is still valid. Process driver: placement
// does not depend on the engine.
import { beforeAll, describe, expect, it } from "vitest";
import type { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { CapacityExhaustedError, UnavailableError } from "../../src/errors.js";
import type { CreateReply } from "../../src/client/types.js";
import { NodeRegistry } from "../../src/store/node-registry.js";
import { useCorralProcesses } from "../helpers/corral.js";
import type { SpawnedNode } from "../helpers/node.js";
import { waitUntil } from "../helpers/wait.js";

const NEED = { cpu: 1, memoryMB: 64 };
const spec = (cpu: number) => ({ prefix: `multi${cpu}`, driver: "process" as const, capacity: { cpu, memoryMB: 65_536, sandboxes: 100 } });
const corral = useCorralProcesses({ nodes: [spec(2), spec(4), spec(8)] });
let client: CorralClient;
let registry: NodeRegistry;
let small: SpawnedNode;
let medium: SpawnedNode;
let large: SpawnedNode;

beforeAll(async () => {
  ({ client } = corral);
  [small, medium, large] = corral.nodes as [SpawnedNode, SpawnedNode, SpawnedNode];
  registry = await NodeRegistry.open(corral.nc, resolveConfig({}, {}));
});

/** Waits until the registry shows `total` sandboxes allocated over the live nodes, then returns cpu allocated per node. */
async function allocated(total: number): Promise<Record<string, number>> {
  return waitUntil(
    async () => {
      const nodes = await registry.list();
      const sum = nodes.reduce((n, r) => n + r.allocation.sandboxes, 0);
      return sum === total && Object.fromEntries(nodes.map((r) => [r.nodeId, r.allocation.cpu]));
    },
    { timeoutMs: 10_000, what: `${total} sandboxes in the node registry` },
  );
}

function countByNode(replies: CreateReply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) out[r.nodeId] = (out[r.nodeId] ?? 0) + 1;
  return out;
}

describe("scheduling across three nodes", () => {
  const placed: CreateReply[] = [];

  it("spreads by free capacity: 7 sandboxes on 2/4/8 cpu nodes land 1/2/4", async () => {
    for (let i = 0; i < 7; i++) {
      placed.push(await client.create({ resources: NEED, metadata: { suite: "multinode" } }));
      // Each decision is taken on fresh heartbeats, so the outcome is exact.
      await allocated(placed.length);
    }
    expect(countByNode(placed)).toEqual({ [small.nodeId]: 1, [medium.nodeId]: 2, [large.nodeId]: 4 });
  });

  it("a full cluster answers capacity_exhausted naming every node's shortfall", async () => {
    const err = await client.create({ resources: { cpu: 5, memoryMB: 64 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityExhaustedError);
    for (const node of [small, medium, large]) expect((err as Error).message).toMatch(new RegExp(`node ${node.nodeId}: needs 5 cpu, \\d+ free`));
  });

  it("after SIGKILL of a node its sandboxes answer unavailable, and creates go to the other two", async () => {
    await medium.crash();
    const orphaned = placed.filter((r) => r.nodeId === medium.nodeId);
    expect(orphaned).toHaveLength(2);
    for (const sbx of orphaned) {
      const id = sbx.sandboxId;
      for (const call of [() => client.kill(id), () => client.pause(id), () => client.resume(id), () => client.connectSandbox(id), () => client.setTimeout(id, 60_000), () => client.refresh(id)]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnavailableError);
        expect((err as Error).message).toContain(`node ${medium.nodeId}, which is unreachable`);
      }
      // The store still answers get truthfully: the last persisted record.
      expect(await client.get(id)).toMatchObject({ state: "running", nodeId: medium.nodeId, revision: sbx.revision });
    }
    // The dead node's lease is still valid, and it has the most headroom: the scheduler
    // tries it first, gets no answer, and falls through to the next node.
    expect((await registry.list()).map((n) => n.nodeId)).toContain(medium.nodeId);
    const more: CreateReply[] = [];
    for (let i = 0; i < 4; i++) more.push(await client.create({ resources: NEED }));
    expect(more.every((r) => r.nodeId === small.nodeId || r.nodeId === large.nodeId)).toBe(true);
    expect(more.every((r) => r.state === "running")).toBe(true);
    // Sandboxes of live nodes are unaffected.
    const onLarge = placed.find((r) => r.nodeId === large.nodeId)!;
    expect((await client.pause(onLarge.sandboxId)).state).toBe("paused");
  });
});
