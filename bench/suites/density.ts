/**
 * density: many live sandboxes on one node (process driver), the node in its
 * own process (density-host.ts) so that its memory and CPU are its own:
 * 1. warm-up creates and kills, full GC, memory before;
 * 2. `sandboxes` creates through the API, `concurrency` at a time;
 * 3. full GC, memory after: (after - before) / sandboxes;
 * 4. the node's CPU over `idleS` idle seconds (baseline: the same window
 *    with no sandboxes, before step 2);
 * 5. `set_timeout` on every k-th of them (`timeouts` in all), deadlines
 *    spread over `spreadS` seconds from `leadS` on, while the others stay
 *    live. Lateness = the `at` of each one's `timeout` event (the node's
 *    TIMEOUT write) minus the `endAt` set_timeout persisted; the `killed`
 *    event (process gone) is reported too.
 * With CORRAL_BENCH_CPU_PROF=<dir> the idle and timeout windows are
 * CPU-profiled; with CORRAL_BENCH_HEAP_SNAPSHOT=<dir> a heap snapshot of the
 * loaded node is written.
 */
import fs from "node:fs";
import { CorralClient } from "../../src/client/client.js";
import { subscribeEvents } from "../../src/events.js";
import { waitUntil } from "../../test/helpers/wait.js";
import { spawnDensityHost, type HostStats } from "../lib/density-host.js";
import { closedLoop } from "../lib/measure.js";
import { summarize } from "../lib/stats.js";
import { defineSuite, type Row } from "../lib/types.js";

const LONG_TIMEOUT_MS = 3_600_000;
const KIB = 1024;
const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function fdCount(pid: number): number | null {
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

/** The node's CPU use between two stats, in % of one core. */
const cpuPercent = (a: HostStats, b: HostStats) => ((b.cpuUserUs + b.cpuSystemUs - a.cpuUserUs - a.cpuSystemUs) / 1000 / (b.at - a.at)) * 100;

export const suite = defineSuite({
  name: "density",
  description: "N process-driver sandboxes on one node: memory, idle CPU, timeout lateness",
  params: {
    sandboxes: { default: 10_000, quick: 200, doc: "live sandboxes on the node" },
    concurrency: { default: 50, quick: 20, doc: "creates / set_timeouts in flight" },
    idleS: { default: 30, quick: 3, doc: "idle CPU window, seconds (baseline window: min(idleS, 10))" },
    timeouts: { default: 1000, quick: 100, doc: "sandboxes given a deadline in the timeout window (the rest stay live)" },
    leadS: { default: 10, quick: 3, doc: "first deadline this long after set_timeouts start, seconds" },
    spreadS: { default: 20, quick: 5, doc: "deadlines spread over this many seconds" },
    warmup: { default: 50, quick: 10, doc: "sandboxes created and killed before measuring" },
    createBudgetS: { default: 200, doc: "creates stop after this many seconds; the rest is measured with what started (keeps the run bounded)" },
  },
  async run(ctx) {
    const { progress, cleanup, nats } = ctx;
    const { sandboxes, concurrency, idleS, timeouts, leadS, spreadS, warmup, createBudgetS } = ctx.params;
    const nc = await nats.connect();
    const host = await spawnDensityHost(ctx.benchDir, nc, { natsUrl: nats.url, sandboxes: sandboxes + warmup + 10 });
    cleanup(() => host.stop());
    const pid = host.child.pid!;
    const client = new CorralClient(nc, { timeoutMs: 120_000 });
    const notes: string[] = [`node ${host.nodeId}: startNode (process driver) in its own process (bench/lib/density-host.ts)`];

    progress(`density: warm-up (${warmup} sandboxes)`);
    const warmIds: string[] = [];
    await closedLoop(concurrency, warmup, async () => warmIds.push((await client.create({ timeoutMs: LONG_TIMEOUT_MS })).sandboxId));
    await closedLoop(concurrency, warmIds.length, (i) => client.kill(warmIds[i]!));
    const fdsBefore = fdCount(pid);
    const before = await host.stats({ gc: true });
    const idleBaselineS = Math.min(idleS, 10);
    progress(`density: idle baseline (${idleBaselineS} s, no sandboxes)`);
    await delay(idleBaselineS * 1000);
    const idleEmptyEnd = await host.stats();

    // Events from here on: the TIMEOUT and killed writes of every sandbox.
    const timeoutAt = new Map<string, number>();
    const killedAt = new Map<string, number>();
    const sub = subscribeEvents(nc, (e) => {
      if (e.event === "timeout") timeoutAt.set(e.sandboxId, e.at);
      if (e.to === "killed") killedAt.set(e.sandboxId, e.at);
    });
    cleanup(() => sub.unsubscribe());

    progress(`density: ${sandboxes} creates, ${concurrency} at a time`);
    const ids: string[] = [];
    let failures = 0;
    let firstError: string | null = null;
    const createDeadline = Date.now() + createBudgetS * 1000;
    const created = await closedLoop(concurrency, sandboxes, async () => {
      // Past the first failures stop trying: a limit was hit, and its message says which.
      if (failures >= 20 || Date.now() > createDeadline) return;
      try {
        ids.push((await client.create({ timeoutMs: LONG_TIMEOUT_MS })).sandboxId);
      } catch (err) {
        failures++;
        firstError ??= (err as Error).message;
      }
    });
    if (ids.length + failures < sandboxes) notes.push(`create budget (${createBudgetS} s) ran out after ${ids.length} sandboxes: measured with those`);
    if (failures > 0) notes.push(`${failures} create(s) failed, first: ${firstError}; measured with the ${ids.length} that started`);
    const n = ids.length;
    progress(`density: ${n} live; settling, then memory and ${idleS} s idle`);
    await delay(3_000);
    // With CORRAL_BENCH_HEAP_SNAPSHOT=<dir>, a heap snapshot of the loaded node is written there (what is the per-sandbox memory?).
    const snapshotDir = process.env.CORRAL_BENCH_HEAP_SNAPSHOT;
    const after = await host.stats({ gc: true, ...(snapshotDir ? { heapSnapshotDir: snapshotDir } : {}) });
    if (after.heapSnapshot) notes.push(`heap snapshot: ${after.heapSnapshot}`);
    const fdsAfter = fdCount(pid);
    // With CORRAL_BENCH_CPU_PROF=<dir>, the idle window is profiled (what does an idle node spend its CPU on?).
    const profileDir = process.env.CORRAL_BENCH_CPU_PROF;
    const idleStart = await host.stats(profileDir ? { profile: "start" } : {});
    await delay(idleS * 1000);
    const idleEnd = await host.stats(profileDir ? { profile: "stop", profileDir } : {});
    if (idleEnd.profile) notes.push(`idle CPU profile: ${idleEnd.profile}`);

    // Every k-th sandbox, so the ones that expire are spread over the creation order.
    const step = Math.max(1, Math.floor(n / Math.max(1, timeouts)));
    const expiring = ids.filter((_, i) => i % step === 0).slice(0, timeouts);
    const m = expiring.length;
    progress(`density: set_timeout on ${m} of ${n} sandboxes: deadlines from +${leadS} s over ${spreadS} s`);
    const windowStart = await host.stats(profileDir ? { profile: "start" } : {});
    const firstDeadline = Date.now() + leadS * 1000;
    const endAt = new Map<string, number>();
    const setTimeouts = await closedLoop(concurrency, m, async (i) => {
      const deadline = firstDeadline + (spreadS * 1000 * i) / m;
      const record = await client.setTimeout(expiring[i]!, Math.max(0, Math.round(deadline - Date.now())));
      endAt.set(record.sandboxId, record.endAt!);
    });
    const lastDeadline = Math.max(...endAt.values());
    const missing = () => expiring.filter((id) => !killedAt.has(id));
    try {
      await waitUntil(() => missing().length === 0, { timeoutMs: Math.max(0, lastDeadline - Date.now()) + 60_000, intervalMs: 200, what: "every sandbox to time out and be killed" });
    } catch {
      notes.push(`${missing().length} sandbox(es) not killed 60 s after the last deadline`);
    }
    const windowEnd = await host.stats(profileDir ? { profile: "stop", profileDir } : {});
    if (windowEnd.profile) notes.push(`timeout window CPU profile: ${windowEnd.profile}`);
    const late = expiring.filter((id) => timeoutAt.has(id)).map((id) => timeoutAt.get(id)! - endAt.get(id)!);
    const killLate = expiring.filter((id) => killedAt.has(id)).map((id) => killedAt.get(id)! - endAt.get(id)!);
    const lateness = summarize(late);
    const killLateness = summarize(killLate);
    if (setTimeouts.wallMs > leadS * 1000) notes.push(`set_timeouts took ${(setTimeouts.wallMs / 1000).toFixed(1)} s, longer than the lead: early deadlines were set late (lateness is still measured from the persisted endAt)`);

    const perSandboxKiB = (key: "rss" | "heapUsed" | "external") => (after[key] - before[key]) / n / KIB;
    const rows: Row[] = [
      { metric: `creates/s (${concurrency} in flight)`, unit: "ops/s", baseline: null, corral: (n / created.wallMs) * 1000, target: null },
      { metric: "node RSS per sandbox", unit: "KiB", baseline: null, corral: perSandboxKiB("rss"), target: { kind: "max", max: 10 } },
      { metric: "node JS heap per sandbox", unit: "KiB", baseline: null, corral: perSandboxKiB("heapUsed"), target: { kind: "max", max: 10 } },
      { metric: `node CPU idle (${n} vs 0 sandboxes)`, unit: "%core", baseline: cpuPercent(before, idleEmptyEnd), corral: cpuPercent(idleStart, idleEnd), target: { kind: "max", max: 1 } },
      { metric: `node CPU, ${(m / spreadS).toFixed(0)} timeouts/s window`, unit: "%core", baseline: null, corral: cpuPercent(windowStart, windowEnd), target: null },
      { metric: "timeout acted after endAt p50", unit: "ms", baseline: null, corral: lateness.p50, target: null },
      { metric: "timeout acted after endAt p99", unit: "ms", baseline: null, corral: lateness.p99, target: null },
      { metric: "timeout acted after endAt max", unit: "ms", baseline: null, corral: lateness.max, target: { kind: "max", max: 1000 } },
      { metric: "timeouts acted > 1 s late", unit: "count", baseline: null, corral: late.filter((ms) => ms > 1000).length + (m - late.length), target: { kind: "max", max: 0 } },
      { metric: "killed (process gone) after endAt p50", unit: "ms", baseline: null, corral: killLateness.p50, target: null },
      { metric: "killed (process gone) after endAt p99", unit: "ms", baseline: null, corral: killLateness.p99, target: null },
    ];
    notes.push(`${n} sandboxes live, ${m} timed out; node fds ${fdsBefore} -> ${fdsAfter}; set_timeouts ${setTimeouts.perSecond.toFixed(0)}/s`);
    return {
      rows,
      notes,
      details: { before, after, idleEmptyEnd, idleStart, idleEnd, fdsBefore, fdsAfter, lateness, killLateness, created: n, timedOut: m, windowStart, windowEnd, failures, firstError, setTimeoutsPerSecond: setTimeouts.perSecond },
    };
  },
});
