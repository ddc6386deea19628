/**
 * The benchmark runner (`npm run bench`, `node bench/run.mjs [suite...]`):
 * runs the selected suites one after another, each against its own fresh
 * nats-server (JetStream, temp store, random port), prints one table per suite (baseline,
 * Corral, ratio, delta, target, met?) and writes everything to
 * bench/results/<date>.json. Targets are reported, never asserted: the exit
 * code is non-zero only when a suite could not run. See docs/performance.md.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startNats } from "../test/helpers/nats.js";
import { UsageError, parseArgs, resolveParams, unknownFlags, usage, type BenchArgs } from "./lib/args.js";
import { evaluate, formatTable, type EvaluatedRow } from "./lib/report.js";
import type { Suite, SuiteContext, SuiteResult } from "./lib/types.js";
import { suite as api } from "./suites/api.js";
import { suite as density } from "./suites/density.js";
import { suite as driver } from "./suites/driver.js";
import { suite as e2b } from "./suites/e2b.js";
import { suite as node } from "./suites/node.js";
import { suite as proxy } from "./suites/proxy.js";
import { suite as store } from "./suites/store.js";
import { suite as warm } from "./suites/warm.js";

/** The suites by name, in the order a full run takes them. */
const SUITES = new Map([store, driver, node, warm, api, density, proxy, e2b].map((s) => [s.name, s]));

/** One suite's outcome in the JSON result. */
interface SuiteOutcome {
  params: Record<string, number>;
  durationMs: number;
  rows: EvaluatedRow[];
  notes: string[];
  details?: Record<string, unknown>;
  error?: string;
}

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

/** Cleanups of the running suite, run LIFO when it ends or on Ctrl-C. */
const cleanups: (() => Promise<void> | void)[] = [];

async function runCleanups(): Promise<void> {
  while (cleanups.length > 0) {
    const fn = cleanups.pop()!;
    try {
      await fn();
    } catch (err) {
      progress(`cleanup failed: ${(err as Error).message}`);
    }
  }
}

function select(args: BenchArgs): Suite[] {
  const unknown = args.suites.filter((s) => !SUITES.has(s));
  if (unknown.length > 0) throw new UsageError(`no such suite: ${unknown.join(", ")} (there are: ${[...SUITES.keys()].join(", ")})`);
  return args.suites.length === 0 ? [...SUITES.values()] : args.suites.map((s) => SUITES.get(s)!);
}

async function runOne(suite: Suite, args: BenchArgs, ctxBase: Omit<SuiteContext, "params">): Promise<SuiteOutcome> {
  const { name } = suite;
  const params = resolveParams(name, suite.params, args);
  const started = Date.now();
  progress(`${name}: ${suite.description} ${JSON.stringify(params)}`);
  let result: SuiteResult;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const running = suite.run({ ...ctxBase, params });
    // A wedged engine call (seen: dockerd stuck on a container killed behind its back) must not hang the run.
    const timedOut = new Promise<never>((_, reject) => {
      watchdog = setTimeout(() => reject(new Error(`${name} did not finish within ${args.suiteTimeoutS} s (--suite-timeout)`)), args.suiteTimeoutS * 1000);
    });
    result = await Promise.race([running, timedOut]);
  } catch (err) {
    const message = (err as Error).stack ?? String(err);
    progress(`${name} FAILED: ${message}`);
    return { params, durationMs: Date.now() - started, rows: [], notes: [], error: message };
  } finally {
    clearTimeout(watchdog);
    await runCleanups();
  }
  return { params, durationMs: Date.now() - started, rows: result.rows.map(evaluate), notes: result.notes, ...(result.details ? { details: result.details } : {}) };
}

function commandOutput(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5_000 }).trim();
  } catch {
    return null;
  }
}

/** Host, runtime and git facts for the JSON; a fact that cannot be read is null. */
function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    natsServer: commandOutput("nats-server", ["--version"]),
    docker: commandOutput("docker", ["version", "--format", "{{.Server.Version}}"]),
    gitCommit: commandOutput("git", ["rev-parse", "HEAD"]),
    gitDirty: (commandOutput("git", ["status", "--porcelain"]) ?? "") !== "",
    loadAverage: os.loadavg(),
  };
}

/** Runs the command line; `benchDir` is the bench/ folder (the bundle runs from a cache dir). Resolves with the exit code. */
export async function main(argv: readonly string[], benchDir: string): Promise<number> {
  let args: BenchArgs;
  let suites: Suite[];
  try {
    args = parseArgs(argv);
    if (args.help) {
      process.stdout.write(`${usage([...SUITES.values()])}\n`);
      return 0;
    }
    suites = select(args);
    const unknown = unknownFlags(args, suites);
    if (unknown.length > 0) throw new UsageError(`unknown parameter(s): ${unknown.map((k) => `--${k}`).join(", ")} (see --help)`);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`bench: ${err.message}\n`);
    return 2;
  }

  const startedAt = new Date();
  const outcomes: Record<string, SuiteOutcome> = {};
  const onSignal = (signal: NodeJS.Signals) => {
    progress(`${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    for (const suite of suites) {
      // A fresh server per suite: no suite sees another's records, nodes or tombstone timers.
      const nats = await startNats();
      cleanups.push(() => nats.stop());
      const outcome = await runOne(suite, args, { nats, benchDir, progress, cleanup: (fn) => void cleanups.push(fn) });
      outcomes[suite.name] = outcome;
      const title = `${suite.name} (${(outcome.durationMs / 1000).toFixed(1)} s)${outcome.error ? " FAILED" : ""}`;
      process.stdout.write(`\n${formatTable(title, outcome.rows, outcome.error ? [...outcome.notes, outcome.error.split("\n")[0]!] : outcome.notes)}\n`);
    }
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }

  if (args.save) {
    fs.mkdirSync(args.outDir, { recursive: true });
    const file = path.join(args.outDir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`);
    const result = { startedAt: startedAt.toISOString(), argv, machine: machineInfo(), suites: outcomes };
    fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`\nresults: ${file}\n`);
  }
  return Object.values(outcomes).some((o) => o.error) ? 1 : 0;
}
