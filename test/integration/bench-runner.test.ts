/**
 * The benchmark runner end to end: `node bench/run.mjs` bundles the bench
 * against dist/, spawns its own nats-server, runs a suite (store, quick: a
 * second or two), prints its table and writes the JSON result; the proxy
 * suite (wrk, nginx, corral proxy processes) reaches the same table and JSON.
 */
import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-test-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Runs the runner; resolves with its exit code and output (never rejects on a non-zero exit). */
async function bench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ["bench/run.mjs", ...args], { cwd: ROOT, timeout: 90_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

describe("bench/run.mjs", () => {
  it("runs a suite, prints its table and writes the JSON result", async () => {
    const out = path.join(tmp, "results");
    const { code, stdout, stderr } = await bench(["store", "--quick", "--store.iterations=20", "--out", out]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/== store \(\d+\.\d s\)/);
    expect(stdout).toMatch(/mutate vs kv.update p50\s+ms\s+\d/);
    const files = fs.readdirSync(out);
    expect(files).toHaveLength(1);
    const result = JSON.parse(fs.readFileSync(path.join(out, files[0]!), "utf8"));
    expect(result.machine.node).toBe(process.version);
    const store = result.suites.store;
    expect(store.params).toEqual({ iterations: 20, warmup: 10, idleMs: 10 });
    expect(store.rows).toHaveLength(8);
    for (const row of store.rows) {
      expect(row.baseline).toBeGreaterThan(0);
      expect(row.corral).toBeGreaterThan(0);
      expect(row.ratio).toBeCloseTo(row.corral / row.baseline, 6);
    }
  });

  it("answers a bad command line with exit 2 and says why", async () => {
    const unknownSuite = await bench(["nosuch"]);
    expect(unknownSuite.code).toBe(2);
    expect(unknownSuite.stderr).toMatch(/no such suite: nosuch \(there are: store, driver, node, warm, api, density, proxy, e2b\)/);
    const typo = await bench(["store", "--store.iteratons=3"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown parameter(s): --store.iteratons");
  });

  it("lists suites and parameters with --help", async () => {
    const { code, stdout } = await bench(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--density.sandboxes=N");
    expect(stdout).toContain("env BENCH_API_CLIENTS");
    expect(stdout).toContain("--proxy.seconds=N  seconds per wrk run (default 5, quick 1; env BENCH_PROXY_SECONDS)");
  });
});

describe("the proxy suite", () => {
  it("hands its rows to the runner's table and JSON", async () => {
    // `npm test` bootstraps with --bench, which installs them: never skipped, so a broken proxy suite fails here.
    const missing = ["wrk", "nginx"].filter((bin) => spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0);
    expect(missing, "the proxy suite needs wrk and nginx: run `node scripts/bootstrap --bench`").toEqual([]);
    const out = path.join(tmp, "proxy");
    const { code, stdout, stderr } = await bench(["proxy", "--quick", "--proxy.lifecycle=0", "--proxy.workers=1", "--out", out]);
    expect(code, stderr).toBe(0);
    expect(stdout).toMatch(/== proxy \(\d+\.\d s\)/);
    expect(stdout).toMatch(/req\/s, corral \(1 worker\)\s+ops\/s\s+\d+/);
    const proxy = JSON.parse(fs.readFileSync(path.join(out, fs.readdirSync(out)[0]!), "utf8")).suites.proxy;
    expect(proxy.params).toMatchObject({ seconds: 1, rounds: 1, workers: 1, lifecycle: 0 });
    expect(proxy.rows.map((r: { metric: string }) => r.metric)).toEqual([
      "req/s, direct",
      "latency p50, direct",
      "latency p99, direct",
      "req/s, corral (1 worker)",
      "latency p50, corral (1 worker)",
      "latency p99, corral (1 worker)",
    ]);
    for (const row of proxy.rows) expect(row.baseline).toBeGreaterThan(0);
    expect(proxy.rows[3].target).toEqual({ kind: "minRatio", min: 0.6 });
  });
});
