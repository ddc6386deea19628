// A warm pool whose template cannot start a member (actors/node/warm/pool.ts):
// it is tried again after a doubling delay, not on every capacity change;
// the other templates fill meanwhile; a success ends the backoff. An
// in-memory engine stands in for Docker, whose start fails for the templates
// the test names; fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CapacityLedger } from "../../actors/node/capacity.js";
import { WarmPool, type PoolDriver } from "../../actors/node/warm/pool.js";
import type { SandboxSpec } from "../../src/drivers/types.js";
import { newClusterId, newSandboxId, type NodeId } from "../../src/ids.js";
import { TemplateRegistry, type Template } from "../../src/templates.js";

const T0 = Date.UTC(2030, 0, 1);
const resources = { cpu: 1, memoryMB: 512 };

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function setup(spec: Map<string, number>) {
  const broken = new Set<string>();
  /** Every start the engine was asked for: template name and when (ms after T0). */
  const starts: { template: string; at: number }[] = [];
  const failures: { template: string; retryInMs: number }[] = [];
  let n = 0;
  const driver: PoolDriver = {
    start: async (s: SandboxSpec) => {
      starts.push({ template: s.template.name, at: Date.now() - T0 });
      if (broken.has(s.template.name)) throw new Error(`image of ${s.template.name} missing`);
      return { handle: `c${n++}`, endpoint: { host: "10.0.0.1", ports: {} } };
    },
    freezeMember: async () => undefined,
    remove: async () => undefined,
    claimMember: async () => ({ host: "10.0.0.1", ports: {} }),
  };
  const base = new TemplateRegistry().get("base");
  const pool = new WarmPool({
    driver,
    nodeId: "n" as NodeId,
    clusterId: newClusterId(),
    spec,
    template: (name): Template => ({ ...base, name }),
    resources,
    reserve: (need) => new CapacityLedger({ cpu: 100, memoryMB: 100_000, sandboxes: 100 }, "freeze").reserve(need),
    newMemberId: newSandboxId,
    idFile: "/www/id",
    retry: { baseMs: 1_000, maxMs: 4_000 },
    onError: (_err, template, retryInMs) => failures.push({ template, retryInMs }),
  });
  return { pool, broken, starts, failures };
}

describe("WarmPool with a template that cannot start", () => {
  it("retries it after a doubling delay (capped), not on every refill, and fills the other template meanwhile", async () => {
    const { pool, broken, starts, failures } = setup(
      new Map([
        ["broken", 1],
        ["base", 2],
      ]),
    );
    broken.add("broken");
    await pool.refill();
    expect(pool.counts()).toEqual({ broken: 0, base: 2 });
    expect(failures).toEqual([{ template: "broken", retryInMs: 1_000 }]);

    // Capacity changes ask for refills: none of them tries the failing template before its delay.
    for (let i = 0; i < 5; i++) await pool.refill();
    expect(starts.filter((s) => s.template === "broken")).toHaveLength(1);

    await vi.advanceTimersByTimeAsync(20_000);
    const retries = starts.filter((s) => s.template === "broken").map((s) => s.at);
    // 1 s, then 2 s, then 4 s (the cap) apart.
    expect(retries.slice(0, 6)).toEqual([0, 1_000, 3_000, 7_000, 11_000, 15_000]);
    expect(failures.slice(0, 4).map((f) => f.retryInMs)).toEqual([1_000, 2_000, 4_000, 4_000]);
    await pool.stop();
  });

  it("ends the backoff once a start succeeds, and arms nothing after stop", async () => {
    const { pool, broken, starts, failures } = setup(new Map([["flaky", 1]]));
    broken.add("flaky");
    await pool.refill();
    await vi.advanceTimersByTimeAsync(1_000); // second failure: next try 2 s later
    expect(failures.map((f) => f.retryInMs)).toEqual([1_000, 2_000]);
    broken.delete("flaky");
    await vi.advanceTimersByTimeAsync(2_000);
    expect(pool.counts()).toEqual({ flaky: 1 });

    // A later failure starts the delay from the beginning again.
    const [member] = [pool.take("flaky")!];
    pool.settled(member);
    broken.add("flaky");
    await pool.refill();
    expect(failures.at(-1)).toEqual({ template: "flaky", retryInMs: 1_000 });

    await pool.stop();
    const before = starts.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(starts).toHaveLength(before);
  });
});
