/**
 * Command line of the runner: `node bench/run.mjs [suite...] [--quick]
 * [--<suite>.<param>=N | --<param>=N]... [--out DIR] [--no-save] [--suite-timeout S] [--help]`.
 * Suite parameters also come from the environment as `BENCH_<SUITE>_<PARAM>`
 * (upper snake case); a flag wins over the environment, which wins over the
 * default (`--quick` picks each parameter's quick value instead).
 */
import type { ParamSpec } from "./types.js";

/** The parsed command line. */
export interface BenchArgs {
  /** Suites named on the command line, in order; empty = all that exist. */
  suites: string[];
  quick: boolean;
  help: boolean;
  /** Write the JSON result (false with --no-save). */
  save: boolean;
  /** Where the JSON goes. @default "bench/results" */
  outDir: string;
  /** A suite still running after this many seconds is failed (its cleanups run). @default 600 */
  suiteTimeoutS: number;
  /** `--a.b=N` / `--b=N` flags, key without the dashes. */
  values: Map<string, string>;
}

/** Thrown for a command line the runner cannot follow; the message says why. */
export class UsageError extends Error {
  override name = "UsageError";
}

/** Parses argv (without node and the script). */
export function parseArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { suites: [], quick: false, help: false, save: true, outDir: "bench/results", suiteTimeoutS: 600, values: new Map() };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") out.help = true;
    else if (arg === "--quick") out.quick = true;
    else if (arg === "--no-save") out.save = false;
    else if (arg === "--out") {
      const dir = argv[++i];
      if (!dir) throw new UsageError("--out needs a directory");
      out.outDir = dir;
    } else if (arg.startsWith("--suite-timeout")) {
      const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[++i];
      const seconds = Number(value);
      if (!value || !Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`--suite-timeout needs a number of seconds > 0, got ${JSON.stringify(value)}`);
      out.suiteTimeoutS = seconds;
    } else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const key = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value (--${key}=N)`);
      out.values.set(key, value);
    } else out.suites.push(arg);
  }
  return out;
}

const envName = (suite: string, param: string) => `BENCH_${suite}_${param}`.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();

/**
 * The values of `suite`'s parameters. A value that is not a finite number
 * >= 0 is a UsageError naming where it came from.
 */
export function resolveParams(
  suite: string,
  specs: Record<string, ParamSpec>,
  args: Pick<BenchArgs, "values" | "quick">,
  env: NodeJS.ProcessEnv = process.env,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const candidates: [string, string | undefined][] = [
      [`--${suite}.${name}`, args.values.get(`${suite}.${name}`)],
      [`--${name}`, args.values.get(name)],
      [envName(suite, name), env[envName(suite, name)]],
    ];
    const found = candidates.find(([, v]) => v !== undefined);
    if (!found) {
      out[name] = args.quick ? (spec.quick ?? spec.default) : spec.default;
      continue;
    }
    const n = Number(found[1]);
    if (found[1]!.trim() === "" || !Number.isFinite(n) || n < 0) throw new UsageError(`${found[0]} must be a number >= 0, got ${JSON.stringify(found[1])}`);
    out[name] = n;
  }
  return out;
}

/** Flags that name no parameter of any selected suite (typos would otherwise be silently ignored). */
export function unknownFlags(args: Pick<BenchArgs, "values">, suites: { name: string; params: Record<string, ParamSpec> }[]): string[] {
  return [...args.values.keys()].filter((key) => {
    const [scope, param] = key.includes(".") ? key.split(".", 2) : [null, key];
    return !suites.some((s) => (scope === null || scope === s.name) && param! in s.params);
  });
}

/** `--help` text: every suite with its parameters, defaults and env names. */
export function usage(suites: { name: string; description: string; params: Record<string, ParamSpec> }[]): string {
  const lines = [
    "usage: node bench/run.mjs [suite...] [--quick] [--<suite>.<param>=N] [--out DIR] [--no-save] [--suite-timeout S]",
    "  no suite named: every suite that exists. Results: one table per suite, JSON in bench/results/.",
    "",
  ];
  for (const s of suites) {
    lines.push(`${s.name}: ${s.description}`);
    for (const [name, p] of Object.entries(s.params)) {
      const quick = p.quick !== undefined ? `, quick ${p.quick}` : "";
      lines.push(`  --${s.name}.${name}=N  ${p.doc} (default ${p.default}${quick}; env ${envName(s.name, name)})`);
    }
  }
  return lines.join("\n");
}
