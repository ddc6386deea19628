#!/usr/bin/env node
// bench/proxy: Corral's proxy against direct access and Debian's nginx as a
// keep-alive reverse proxy (the class of proxy CubeSandbox puts in front of
// its sandboxes), all in one run on the same upstream; then the auto-resume
// cold path against the raw resume floor, and convergence across three
// replicas. Not a test: it prints a table, the ratios and the targets of
// issue 6, and with --json one JSON object (for bench/run.mjs).
//
//   npm run build && node scripts/bootstrap --bench && node bench/proxy.mjs
//   options: --seconds 5 --rounds 3 --workers 2 --iterations 20
//            --driver docker|process (default: docker when an engine answers)
//            --skip-lifecycle --json
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { dist, startNats } from "./proxy/corral.mjs";
import { closeLifecycle, runLifecycle } from "./proxy/lifecycle.mjs";
import { stopAll } from "./proxy/procs.mjs";
import { fmt, median, percentile } from "./proxy/stats.mjs";
import { runThroughput } from "./proxy/throughput.mjs";

const { values: opts } = parseArgs({
  options: {
    seconds: { type: "string", default: "5" },
    rounds: { type: "string", default: "3" },
    workers: { type: "string", default: String(os.availableParallelism()) },
    iterations: { type: "string", default: "20" },
    driver: { type: "string" },
    "skip-lifecycle": { type: "boolean", default: false },
    json: { type: "boolean", default: false },
  },
});

const say = (line = "") => {
  if (!opts.json) process.stdout.write(`${line}\n`);
};
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

async function main() {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-proxy-"));
  const nats = await startNats();
  const result = { machine: { cpus: os.availableParallelism(), node: process.version }, logDir };
  try {
    say(`bench/proxy: wrk -t2 -c32, ${opts.seconds} s x ${opts.rounds} interleaved rounds per target (medians); logs in ${logDir}`);
    const rows = await runThroughput({ natsUrl: nats.url, seconds: Number(opts.seconds), rounds: Number(opts.rounds), workers: Number(opts.workers), logDir });
    const nginx = rows.find((r) => r.kind === "nginx");
    say();
    say(`${pad("target", 22)}${lpad("req/s", 10)}${lpad("p50 ms", 9)}${lpad("p99 ms", 9)}${lpad("x nginx req/s", 15)}${lpad("x nginx p50", 13)}  rounds`);
    for (const r of rows) {
      r.rpsVsNginx = r.rps / nginx.rps;
      r.p50VsNginx = r.p50Ms / nginx.p50Ms;
      say(`${pad(r.name, 22)}${lpad(Math.round(r.rps), 10)}${lpad(fmt(r.p50Ms), 9)}${lpad(fmt(r.p99Ms), 9)}${lpad(fmt(r.rpsVsNginx), 15)}${lpad(fmt(r.p50VsNginx), 13)}  ${r.rounds.join(" ")}`);
    }
    result.throughput = rows;
    const best = rows.filter((r) => r.kind === "corral").sort((a, b) => b.rps - a.rps)[0];
    result.targets = {
      throughput: { want: ">= 0.6 x nginx req/s", got: best.rpsVsNginx, pass: best.rpsVsNginx >= 0.6, by: best.name },
      latency: { want: "p50 <= 2 x nginx", got: best.p50VsNginx, pass: best.p50VsNginx <= 2, by: best.name },
    };

    if (!opts["skip-lifecycle"]) {
      const { defaultDriverKind } = await dist("src/drivers/detect.js");
      const driver = opts.driver ?? (await defaultDriverKind());
      const lc = await runLifecycle({ natsUrl: nats.url, driver, iterations: Number(opts.iterations), logDir });
      const stat = (xs) => ({ n: xs.length, p50: median(xs), p99: percentile(xs, 99), max: Math.max(...xs) });
      result.lifecycle = { driver, raw: stat(lc.rawMs), api: stat(lc.apiMs), cold: stat(lc.coldMs), converge: stat(lc.convergeMs) };
      if (lc.floorMs.length > 0) result.lifecycle.floor = stat(lc.floorMs);
      const { raw, api, cold, converge, floor } = result.lifecycle;
      say();
      say(`${pad(`lifecycle (${driver} driver)`, 40)}${lpad("n", 5)}${lpad("p50 ms", 9)}${lpad("p99 ms", 9)}${lpad("max ms", 9)}`);
      say(`${pad("raw resume + GET /id (floor)", 40)}${lpad(raw.n, 5)}${lpad(fmt(raw.p50), 9)}${lpad(fmt(raw.p99), 9)}${lpad(fmt(raw.max), 9)}`);
      say(`${pad("API resume + GET /id (no proxy)", 40)}${lpad(api.n, 5)}${lpad(fmt(api.p50), 9)}${lpad(fmt(api.p99), 9)}${lpad(fmt(api.max), 9)}`);
      if (floor) say(`${pad("cold path, the contract's floor (raw)", 40)}${lpad(floor.n, 5)}${lpad(fmt(floor.p50), 9)}${lpad(fmt(floor.p99), 9)}${lpad(fmt(floor.max), 9)}`);
      say(`${pad("auto-resume cold path via corral proxy", 40)}${lpad(cold.n, 5)}${lpad(fmt(cold.p50), 9)}${lpad(fmt(cold.p99), 9)}${lpad(fmt(cold.max), 9)}`);
      say(`${pad("convergence, 3 replicas (write->answer)", 40)}${lpad(converge.n, 5)}${lpad(fmt(converge.p50), 9)}${lpad(fmt(converge.p99), 9)}${lpad(fmt(converge.max), 9)}`);
      if (floor) {
        // Medians of the per-iteration differences too (the paths run one after the other in each iteration).
        const paired = (a, b) => median(a.map((ms, i) => ms - b[i]));
        result.lifecycle.floorOverRaw = { p50: floor.p50 - raw.p50, paired: paired(lc.floorMs, lc.rawMs) };
        result.lifecycle.coldOverFloor = { p50: cold.p50 - floor.p50, paired: paired(lc.coldMs, lc.floorMs) };
        const { floorOverRaw: fr, coldOverFloor: cf } = result.lifecycle;
        say(`  cold path: the contract's floor over raw ${fmt(fr.p50)} ms (paired ${fmt(fr.paired)}), corral over the contract's floor ${fmt(cf.p50)} ms (paired ${fmt(cf.paired)})`);
      }
      result.targets.coldPath = { want: "p50 <= raw p50 + 5 ms", got: cold.p50 - raw.p50, pass: cold.p50 <= raw.p50 + 5 };
      result.targets.convergence = { want: "p99 <= 20 ms", got: converge.p99, pass: converge.p99 <= 20 };
    }

    say();
    for (const [name, t] of Object.entries(result.targets)) say(`target ${pad(name, 12)} ${t.pass ? "PASS" : "MISS"}  want ${t.want}, got ${fmt(t.got)}${t.by ? ` (${t.by})` : ""}`);
    if (opts.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await closeLifecycle();
    await nats.stop();
    await stopAll();
  }
}

main().catch(async (err) => {
  process.stderr.write(`bench/proxy failed: ${err?.stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
