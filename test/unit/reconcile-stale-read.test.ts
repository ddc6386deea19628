// A reconciliation pass reads the engine's list and the store's scan before it
// acts; a sandbox can be killed (and unhosted) by its own mailbox in between.
// The pass must then leave that sandbox alone: hosting the record it read
// would give the node an actor at a revision the store has moved past, whose
// no-op answers (a resume of a running sandbox) report a state that is gone.
// Seen in a history run: a create with a key answered the sandbox `running`
// 200 ms after a kill of it had been answered `killed`.
//
// Also here: a record the pass settles gets its missing event published
// first, before anything is written on top of it (`publishMissingEvent`).
import pino from "pino";
import { describe, expect, it } from "vitest";
import { reconcile, type ReconcileDeps } from "../../actors/node/reconcile.js";
import type { Hosting } from "../../actors/node/hosting.js";
import { DEFAULTS } from "../../src/config.js";
import type { DriverInstance, SandboxDriver } from "../../src/drivers/types.js";
import type { ClusterId, NodeId } from "../../src/ids.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { makeStoredSandbox } from "../helpers/records.js";

const nodeId = "node-1" as NodeId;
const clusterId = "cluster-1" as ClusterId;

/** A pass over `scanned` (what the scan read) while the store holds `current` and the engine listed `instance`. */
async function pass(scanned: StoredSandbox, current: StoredSandbox, instance: DriverInstance, withEvents = false) {
  const restored: StoredSandbox[] = [];
  const engineCalls: string[] = [];
  const writes: number[] = [];
  /** Missing-event publishes and writes, in the order the pass made them. */
  const order: string[] = [];
  const driver = {
    list: async () => [instance],
    remove: async (handle: string) => void engineCalls.push(`remove ${handle}`),
    pause: async (handle: string) => void engineCalls.push(`pause ${handle}`),
    resume: async (handle: string) => {
      engineCalls.push(`resume ${handle}`);
      return instance.endpoint;
    },
  } as unknown as SandboxDriver;
  const hosting = { get: () => undefined, restore: (r: StoredSandbox) => void restored.push(r) } as unknown as Hosting;
  const deps: ReconcileDeps = {
    nodeId,
    clusterId,
    store: {
      async *scan() {
        yield scanned;
      },
      get: async () => current,
      mutate: async (_id, change) => {
        const next = change(current);
        if (next === null) return current;
        writes.push(current.revision);
        order.push(`write on ${current.revision}`);
        return { ...next.record, revision: current.revision + 1 };
      },
    },
    driver,
    hosting,
    pauseMode: "freeze",
    limits: DEFAULTS,
    log: pino({ level: "silent" }),
    drive: () => undefined,
    checkHosted: () => undefined,
    ...(withEvents ? { publishMissingEvent: async (id: string) => void order.push(`event of ${id}`) } : {}),
  };
  const summary = await reconcile(deps);
  return { restored, engineCalls, writes, summary, order };
}

const handle = "h-1";
const alive: Omit<DriverInstance, "sandboxId"> = { handle, nodeId, clusterId, incarnation: 4, state: "running", endpoint: { host: "127.0.0.1", ports: {} } };

describe("reconcile against a record read before it changed", () => {
  it("hosts nothing and calls no engine for a running record that was killed after the scan read it", async () => {
    const scanned = makeStoredSandbox({ revision: 633, internal: { handle, incarnation: 4 } });
    const killed: StoredSandbox = { ...scanned, revision: 658, state: "killed", endAt: null, killReason: "request", internal: { ...scanned.internal, killedAt: Date.now() } };
    const { restored, engineCalls, writes } = await pass(scanned, killed, { ...alive, sandboxId: scanned.sandboxId });
    expect(restored).toEqual([]);
    expect(engineCalls).toEqual([]);
    expect(writes).toEqual([]);
  });

  it("does not drive a paused record's container by the old record either", async () => {
    const scanned = makeStoredSandbox({ revision: 10, state: "paused", internal: { handle, incarnation: 4 } });
    const running: StoredSandbox = { ...scanned, revision: 12, state: "running" };
    const { restored, engineCalls } = await pass(scanned, running, { ...alive, sandboxId: scanned.sandboxId });
    expect(restored).toEqual([]);
    expect(engineCalls).toEqual([]);
  });

  it("still hosts a record that is unchanged since the scan (the check is by revision, not a refusal)", async () => {
    const scanned = makeStoredSandbox({ revision: 633, internal: { handle, incarnation: 4 } });
    const { restored, summary } = await pass(scanned, scanned, { ...alive, sandboxId: scanned.sandboxId });
    expect(restored.map((r) => r.revision)).toEqual([633]);
    expect(summary.restored).toBe(1);
  });
});

describe("reconcile and a settled record's missing event", () => {
  it("publishes it before the write that settles the record (a container gone: container_exited)", async () => {
    const scanned = makeStoredSandbox({ revision: 100, internal: { handle, incarnation: 4 } });
    const { order } = await pass(scanned, scanned, { ...alive, sandboxId: scanned.sandboxId, state: "exited" }, true);
    expect(order).toEqual([`event of ${scanned.sandboxId}`, "write on 100"]);
  });

  it("asks for it for a record it hosts as is, and not for one changed since the scan", async () => {
    const scanned = makeStoredSandbox({ revision: 100, internal: { handle, incarnation: 4 } });
    expect((await pass(scanned, scanned, { ...alive, sandboxId: scanned.sandboxId }, true)).order).toEqual([`event of ${scanned.sandboxId}`]);
    const moved = { ...scanned, revision: 101 };
    expect((await pass(scanned, moved, { ...alive, sandboxId: scanned.sandboxId }, true)).order).toEqual([]);
  });
});
