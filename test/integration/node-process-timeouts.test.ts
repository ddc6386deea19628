// Durable timers at scale (issue 4): 500 process-driver sandboxes on one
// node with staggered short deadlines all time out within 1 s of their
// `endAt`, and every process is gone afterwards. One timer per sandbox, no
// polling: the node does nothing per tick, so lateness stays flat.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import type { SandboxEvent } from "../../src/events.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { useCorralProcesses } from "../helpers/corral.js";
import { waitUntil } from "../helpers/wait.js";

const COUNT = 500;
/** The node runs in its own process: its timers do not share an event loop with this test's 1,000 requests. */
const corral = useCorralProcesses({ nodes: [{ prefix: "timers", driver: "process", capacity: { cpu: 1_000, memoryMB: 1_000_000 } }] });

/** The `timeout` event of each sandbox that timed out. */
const timeouts = (): Map<string, SandboxEvent> => new Map(corral.events.filter((e) => e.event === "timeout").map((e) => [e.sandboxId, e]));

function cmdline(pid: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch {
    return ""; // exited meanwhile
  }
}

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

describe(`${COUNT} process sandboxes with staggered deadlines`, () => {
  it("all time out within 1 s of their endAt, and no process is left", async () => {
    const { client, node } = corral;
    const created = await pool(Array.from({ length: COUNT }), 16, () => client.create({ timeoutMs: 600_000, secure: false, resources: { cpu: 0.1, memoryMB: 16 } }));
    expect(created.every((s) => s.state === "running")).toBe(true);

    // Deadlines staggered by 6 ms over 3 s, the first 5 s from now.
    const deadlines: SandboxRecord[] = await pool(created, 16, (s, i) => client.setTimeout(s.sandboxId, 5_000 + i * 6));
    const timedOut = await waitUntil(() => timeouts().size === COUNT && timeouts(), { what: `${COUNT} timeouts`, timeoutMs: 30_000, intervalMs: 100 });

    const lateness = deadlines.map((d) => timedOut.get(d.sandboxId)!.at - d.endAt!).sort((a, b) => a - b);
    console.info(`timeout lateness over ${COUNT}: min ${lateness[0]} ms, p50 ${lateness[COUNT >> 1]} ms, max ${lateness[COUNT - 1]} ms`);
    expect(lateness[0]).toBeGreaterThanOrEqual(0);
    expect(lateness[COUNT - 1]).toBeLessThan(1_000);

    await waitUntil(async () => (await client.list({ state: ["running", "killing"] })).items.length === 0, { what: "all killed", timeoutMs: 30_000 });
    const killed = await client.list({ state: ["killed"], limit: 1000 });
    expect(killed.items).toHaveLength(COUNT);
    expect(killed.items.every((r) => r.killReason === "timeout")).toBe(true);

    const driver = new ProcessDriver({ dataDir: node.dataDir });
    try {
      expect(await driver.list(node.nodeId)).toEqual([]);
    } finally {
      await driver.close();
    }
    // No sandbox process is left: none but the node itself runs with its data dir on the command line.
    const mine = fs.readdirSync("/proc").filter((pid) => /^\d+$/.test(pid) && Number(pid) !== node.child.pid && cmdline(pid).includes(node.dataDir));
    expect(mine).toEqual([]);
  });
});
