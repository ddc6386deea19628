/**
 * Argument parsing shared by the CLI commands (node:util parseArgs, strict).
 * A command's flags are declared once, with what `--help` says about each, and
 * that one declaration is both what `parse` accepts and what its usage prints
 * (./help.ts), so the two cannot drift apart.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidArgumentError } from "../errors.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** One flag: a parseArgs option plus what `--help` says about it. */
export type Flag = Options[string] & {
  /** The value's name in usage (`--timeout SECONDS`). @default the flag's name, upper-cased */
  value?: string;
  /** One line for `--help`. */
  help?: string;
  /** Shown without brackets in usage (the command itself checks it). */
  required?: boolean;
  /** Taken by every client command: the overview names it once instead of per command. */
  common?: boolean;
};
/** A command's flags, by long name. */
export type Flags = Record<string, Flag>;

/** What `--help` says about a command beyond its flags. */
export interface Usage {
  /** The command's name (`set-timeout`). */
  command: string;
  /** One line: what it does. */
  summary: string;
  /** Positional arguments, in order (`["ID", "SECONDS"]`). @default [] */
  args?: readonly string[];
  /** How many of the last `args` may be left out. @default 0 */
  optionalArgs?: number;
}

/**
 * Thrown by {@link parse} when the command line asks for `--help` / `-h`: not
 * an error (the runner prints `flags` as usage to stdout and exits 0). Every
 * command parses its argv before it does anything else, so asking any command
 * for help has no side effect.
 */
export class HelpRequested extends Error {
  constructor(
    readonly flags: Flags,
    readonly usage: Usage | null,
  ) {
    super("help requested");
    this.name = "HelpRequested";
  }
}

/** Options every client command takes. */
export const CLIENT_OPTIONS = {
  "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)", common: true },
  json: { type: "boolean", default: false, help: "print the API's reply as JSON", common: true },
} as const satisfies Flags;

/** What `parse` returns for the options `O` (named so declarations can refer to it). */
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

const HELP_FLAG = { help: { type: "boolean", short: "h" } } as const satisfies Options;

/**
 * Parses `argv` against `options` (unknown flags are `invalid_argument`);
 * `--help` or `-h` anywhere throws {@link HelpRequested} instead, even next
 * to a flag that would not parse, because the caller asked how to use it.
 */
export function parse<O extends Flags>(argv: string[], options: O, usage: Usage | null = null): Parsed<O> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, ...HELP_FLAG }, allowPositionals: true, strict: true });
  } catch (err) {
    if (asksForHelp(argv)) throw new HelpRequested(options, usage);
    throw new InvalidArgumentError((err as Error).message);
  }
  if ((parsed.values as { help?: boolean }).help) throw new HelpRequested(options, usage);
  delete (parsed.values as { help?: boolean }).help;
  return parsed as unknown as Parsed<O>;
}

/** `--help` / `-h` before any `--` terminator. */
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === "--help" || a === "-h");
}

/** Whole seconds -> ms; `min` is in seconds. */
export function secondsToMs(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`${name}: expected whole seconds, got ${JSON.stringify(value)}`);
  const s = Number(value);
  if (s < min) throw new InvalidArgumentError(`${name}: must be at least ${min} second(s)`);
  return s * 1000;
}

/**
 * A decimal number flag (`--cpu 0.5`, `--limit 10`). The range is the
 * server's to check (so its errors are the API's); this only refuses what is
 * not a number at all, which JSON could not even carry.
 */
export function numberArg(name: string, value: string | undefined, integer = false): number | undefined {
  if (value === undefined) return undefined;
  const pattern = integer ? /^-?\d+$/ : /^-?(\d+\.?\d*|\.\d+)$/;
  if (!pattern.test(value)) throw new InvalidArgumentError(`${name}: expected ${integer ? "an integer" : "a number"}, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** `k=v` pairs -> object. */
export function keyValues(name: string, pairs: string[] | undefined): Record<string, string> | undefined {
  if (!pairs || pairs.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of pairs) {
    const i = pair.indexOf("=");
    if (i <= 0) throw new InvalidArgumentError(`${name}: expected key=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return out;
}

/** `ID [SECONDS]`: a usage's positionals, optional ones in brackets. */
export function argsSynopsis(usage: Usage): string {
  const names = usage.args ?? [];
  const optional = usage.optionalArgs ?? 0;
  return names.map((n, i) => (i >= names.length - optional ? `[${n}]` : n)).join(" ");
}

/** The positionals `usage` declares: all required ones, at most all of them. */
export function positionals(usage: Usage, values: string[]): string[] {
  const names = usage.args ?? [];
  if (values.length < names.length - (usage.optionalArgs ?? 0) || values.length > names.length) {
    throw new InvalidArgumentError(`usage: corral ${usage.command}${names.length ? ` ${argsSynopsis(usage)}` : ""}`);
  }
  return values;
}

/**
 * A TCP port option: whole number 0..65535 (0 lets the OS pick), `fallback`
 * when absent; anything else is `invalid_argument` naming the option.
 */
export function portOption(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port > 65535) throw new InvalidArgumentError(`${name}: expected a port number 0..65535, got ${JSON.stringify(value)}`);
  return port;
}
