/**
 * The benchmark runner end to end: `node bench/run.mjs` bundles the bench
 * against dist/, spawns its own nats-server, runs a suite (store, quick: a
 * second or two), prints its table and writes the JSON result. Standalone
 * scripts (bench/<name>.mjs, e.g. the proxy bench) run as child processes
 * and may hand their rows back through CORRAL_BENCH_RESULT.
 */
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { runScript } from "../../bench/lib/script-suite.js";

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
    expect(unknownSuite.stderr).toMatch(/no such suite: nosuch \(there are: store, driver, node, api, density/);
    const typo = await bench(["store", "--store.iteratons=3"]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain("unknown parameter(s): --store.iteratons");
  });

  it("lists suites and parameters with --help", async () => {
    const { code, stdout } = await bench(["--help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("--density.sandboxes=N");
    expect(stdout).toContain("env BENCH_API_CLIENTS");
  });
});

describe("standalone scripts", () => {
  const dir = path.join(tmp, "scripts");
  fs.mkdirSync(dir, { recursive: true });

  it("takes the rows a script writes to CORRAL_BENCH_RESULT and forwards its own flags", async () => {
    fs.writeFileSync(
      path.join(dir, "fake.mjs"),
      `import fs from "node:fs";
       if (process.argv.length !== 3 || process.env.CORRAL_BENCH_QUICK !== "1") process.exit(4);
       const rps = Number(process.argv.find((a) => a.startsWith("--rps="))?.slice(6));
       fs.writeFileSync(process.env.CORRAL_BENCH_RESULT, JSON.stringify({
         rows: [{ metric: "req/s", unit: "ops/s", baseline: 100, corral: rps, target: { kind: "ratio", max: 2 } }, { bogus: true }],
         notes: ["from the script"],
       }));`,
    );
    const result = await runScript(dir, "fake", { values: new Map([["fake.rps", "70"], ["other.x", "1"]]), quick: true });
    expect(result.rows).toEqual([{ metric: "req/s", unit: "ops/s", baseline: 100, corral: 70, target: { kind: "ratio", max: 2 } }]);
    expect(result.notes).toEqual(["from the script"]);
  });

  it("keeps a script that prints only its own table, and fails one that exits non-zero", async () => {
    fs.writeFileSync(path.join(dir, "plain.mjs"), `console.log("my table");`);
    fs.writeFileSync(path.join(dir, "broken.mjs"), `process.exit(3);`);
    expect((await runScript(dir, "plain", { values: new Map(), quick: false })).notes[0]).toMatch(/printed its own table/);
    await expect(runScript(dir, "broken", { values: new Map(), quick: false })).rejects.toThrow("bench/broken.mjs exited with 3");
  });
});
