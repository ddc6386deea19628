/**
 * proxy: Corral's proxy (issue 6) against direct access and Debian's nginx as
 * a keep-alive reverse proxy (the class of proxy CubeSandbox puts in front of
 * its sandboxes), all in one run on the same upstream (proxy/throughput.ts);
 * then the auto-resume cold path against the raw resume floor and the
 * contract's floor, and convergence across three replicas
 * (proxy/lifecycle.ts). Targets: the best Corral configuration >= 0.6x
 * nginx's req/s with p50 <= 2x nginx's; cold path p50 <= raw resume + GET
 * p50 + 5 ms; convergence p99 <= 20 ms. Needs wrk and nginx
 * (`node scripts/bootstrap --bench`).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { defaultDriverKind } from "../../src/drivers/detect.js";
import { latencyRows, type LatencyTargets, type Stat } from "../lib/measure.js";
import { scoped } from "../lib/procs.js";
import { summarize } from "../lib/stats.js";
import { defineSuite, type Row } from "../lib/types.js";
import { runLifecycle } from "./proxy/lifecycle.js";
import { runThroughput } from "./proxy/throughput.js";

const STATS: Stat[] = ["p50", "p99", "max"];

export const suite = defineSuite({
  name: "proxy",
  description: "corral proxy vs nginx and direct (wrk); auto-resume cold path; convergence of 3 replicas",
  params: {
    seconds: { default: 5, quick: 1, doc: "seconds per wrk run" },
    rounds: { default: 3, quick: 1, doc: "interleaved wrk rounds per target (medians)" },
    workers: { default: os.availableParallelism(), doc: "worker count of the second Corral configuration (the first has 1)" },
    iterations: { default: 20, quick: 3, doc: "cold-path iterations and pause/resume convergence cycles" },
    lifecycle: { default: 1, doc: "0 skips the cold path and convergence (no node needed)" },
    docker: { default: 1, doc: "1: the node uses docker when an engine answers (with the contract's floor), else process; 0: process" },
  },
  async run(ctx) {
    const { seconds, rounds, workers, iterations, lifecycle, docker } = ctx.params;
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-proxy-"));
    ctx.progress(`proxy: wrk -t2 -c32, ${seconds} s x ${rounds} interleaved rounds per target; logs in ${logDir}`);
    // nginx and the throughput replicas are gone before the cold path is measured.
    const targets = await scoped(ctx, (scope) => runThroughput(scope, { seconds, rounds, workers, logDir }));
    const nginx = targets.find((t) => t.kind === "nginx")!;
    const rows: Row[] = targets
      .filter((t) => t !== nginx)
      .flatMap((t): Row[] => {
        const corral = t.kind === "corral";
        return [
          { metric: `req/s, ${t.name}`, unit: "ops/s", baseline: nginx.rps, corral: t.rps, target: corral ? { kind: "minRatio", min: 0.6 } : null },
          { metric: `latency p50, ${t.name}`, unit: "ms", baseline: nginx.p50Ms, corral: t.p50Ms, target: corral ? { kind: "ratio", max: 2 } : null },
          { metric: `latency p99, ${t.name}`, unit: "ms", baseline: nginx.p99Ms, corral: t.p99Ms, target: null },
        ];
      });
    const notes = [
      `throughput baseline = ${nginx.name} as a keep-alive reverse proxy to the same upstream; "direct" is the upstream alone; the targets hold if the best Corral configuration meets them`,
      `req/s per round: ${targets.map((t) => `${t.name} ${t.rounds.join(" ")}`).join("; ")}`,
    ];
    const details: Record<string, unknown> = { throughput: targets, logDir };
    if (lifecycle) {
      const driver = docker && (await defaultDriverKind()) === "docker" ? "docker" : "process";
      ctx.progress(`proxy: cold path and convergence, ${iterations} iterations, ${driver} driver`);
      const s = await runLifecycle(ctx, driver, iterations, logDir);
      const vsRaw = (metric: string, corral: number[], targets: LatencyTargets = {}, pairedDelta = targets.p50?.kind === "delta") =>
        latencyRows(metric, { baseline: s.rawMs, corral }, targets, { pairedDelta, stats: STATS });
      const groups = {
        cold: vsRaw("cold path via proxy vs raw resume", s.coldMs, { p50: { kind: "delta", max: 5 } }),
        api: vsRaw("API resume + GET (no proxy) vs raw resume", s.apiMs),
        ...(s.floorMs.length > 0 && {
          floor: vsRaw("floor cold path vs raw resume", s.floorMs, {}, true),
          overFloor: latencyRows("cold path over the contract floor", { baseline: s.floorMs, corral: s.coldMs }, {}, { pairedDelta: true, stats: STATS }),
        }),
      };
      const converge = summarize(s.convergeMs);
      rows.push(
        ...Object.values(groups).flatMap((g) => g.rows),
        ...STATS.map((stat): Row => ({ metric: `convergence, 3 replicas (write -> answer) ${stat}`, unit: "ms", baseline: null, corral: converge[stat], target: stat === "p99" ? { kind: "max", max: 20 } : null })),
      );
      notes.push(
        `lifecycle: ${driver} driver, ${s.coldMs.length} iterations per path (interleaved), ${converge.n} convergence samples (3 replicas)`,
        "raw resume = the driver's own resume of a paused sandbox + one GET /id straight to it; cold path = one GET /id through a replica to a paused auto-resume sandbox",
        s.floorMs.length > 0
          ? "floor cold path = the same GET through bench/floors/proxy-floor.ts (raw net proxy) resuming through bench/floors/contract-floor.ts (raw node)"
          : "no contract floor: it needs the docker driver",
      );
      details.lifecycle = { driver, converge, ...Object.fromEntries(Object.entries(groups).map(([k, g]) => [k, g.summaries])) };
    }
    return { rows, notes, details };
  },
});
