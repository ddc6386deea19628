/**
 * Standalone benchmark scripts (`bench/<name>.mjs`, e.g. the proxy bench)
 * take part in a run as child processes: each runs as `node bench/<name>.mjs`
 * in its own process (its load does not distort the runner's measurements),
 * prints its own table, and MAY write its rows for the runner's table and
 * JSON to the file named by env `CORRAL_BENCH_RESULT` as
 * `{"rows": Row[], "notes"?: string[], "details"?: {...}}` (see types.ts).
 * Flags `--<name>.<param>=V` reach it as `--<param>=V`; `--quick` reaches it
 * as env `CORRAL_BENCH_QUICK=1` (not as a flag: a script with a strict
 * option parser, like bench/proxy.mjs's, would refuse an unknown one).
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { BenchArgs } from "./args.js";
import type { Row, SuiteResult } from "./types.js";

/** Names of the bench/*.mjs scripts other than the runner itself. */
export function discoverScripts(benchDir: string): string[] {
  return fs
    .readdirSync(benchDir)
    .filter((f) => f.endsWith(".mjs") && f !== "run.mjs")
    .map((f) => f.slice(0, -".mjs".length))
    .sort();
}

function isRow(x: unknown): x is Row {
  const r = x as Row;
  return typeof r === "object" && r !== null && typeof r.metric === "string" && typeof r.unit === "string" && typeof r.corral === "number";
}

/** Runs one script to completion; a non-zero exit is an error with its code. */
export async function runScript(benchDir: string, name: string, args: Pick<BenchArgs, "values" | "quick">): Promise<SuiteResult> {
  const resultFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-")), "result.json");
  const forwarded = [...args.values].filter(([k]) => k.startsWith(`${name}.`)).map(([k, v]) => `--${k.slice(name.length + 1)}=${v}`);
  const child = spawn(process.execPath, [path.join(benchDir, `${name}.mjs`), ...forwarded], {
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, CORRAL_BENCH_RESULT: resultFile, ...(args.quick ? { CORRAL_BENCH_QUICK: "1" } : {}) },
  });
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (c, signal) => resolve(signal ? 128 : c));
  });
  try {
    if (code !== 0) throw new Error(`bench/${name}.mjs exited with ${code}`);
    if (!fs.existsSync(resultFile)) return { rows: [], notes: [`bench/${name}.mjs printed its own table above (it wrote no CORRAL_BENCH_RESULT)`] };
    const parsed = JSON.parse(fs.readFileSync(resultFile, "utf8")) as Partial<SuiteResult>;
    const rows = Array.isArray(parsed.rows) ? parsed.rows.filter(isRow).map((r) => ({ ...r, baseline: r.baseline ?? null, target: r.target ?? null })) : [];
    const notes = Array.isArray(parsed.notes) ? parsed.notes.map(String) : [];
    return { rows, notes, ...(parsed.details ? { details: parsed.details } : {}) };
  } finally {
    fs.rmSync(path.dirname(resultFile), { recursive: true, force: true });
  }
}
