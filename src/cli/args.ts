/**
 * Argument parsing shared by the CLI commands (node:util parseArgs, strict).
 * A command's flags are declared once, with what `--help` says about each, and
 * that one declaration is both what `parse` accepts and what its usage prints
 * (./help.ts), so the two cannot drift apart.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import { withAuthDefaults, type NatsAuthSettings } from "../nats/connection.js";

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

/** How to authenticate to NATS and check its certificate: every command takes these (docs/security.md). */
export const NATS_AUTH_OPTIONS = {
  creds: { type: "string", value: "FILE", help: "NATS credentials file (default $CORRAL_NATS_CREDS)", common: true },
  "tls-ca": { type: "string", value: "FILE", help: "CA certificate to verify the NATS server with (default $CORRAL_NATS_TLS_CA)", common: true },
  "tls-cert": { type: "string", value: "FILE", help: "client certificate for NATS mutual TLS (default $CORRAL_NATS_TLS_CERT)", common: true },
  "tls-key": { type: "string", value: "FILE", help: "client certificate's key (default $CORRAL_NATS_TLS_KEY)", common: true },
} as const satisfies Flags;

/** The parsed {@link NATS_AUTH_OPTIONS} as connection settings (the environment fills the rest). */
export function natsAuthOf(values: { creds?: string | undefined; "tls-ca"?: string | undefined; "tls-cert"?: string | undefined; "tls-key"?: string | undefined }): NatsAuthSettings {
  return { creds: values.creds, tlsCa: values["tls-ca"], tlsCert: values["tls-cert"], tlsKey: values["tls-key"] };
}

/** Where `corral up` (default data dir) leaves the admin credentials a client command run in the same directory uses. */
export const DEFAULT_ADMIN_CREDS = path.join(".corral", "creds", "admin.creds");

/**
 * A client command's NATS auth: the flags, else `$CORRAL_NATS_CREDS`, else
 * `./.corral/creds/admin.creds` when it exists (so `npm start` then
 * `npx corral create` works on a secured `corral up`).
 */
export function clientNatsAuth(values: Parameters<typeof natsAuthOf>[0], env: NodeJS.ProcessEnv = process.env): NatsAuthSettings {
  const auth = withAuthDefaults(natsAuthOf(values), env);
  if (auth.creds === undefined && fs.existsSync(DEFAULT_ADMIN_CREDS)) auth.creds = DEFAULT_ADMIN_CREDS;
  return auth;
}

/** Options every client command takes. */
export const CLIENT_OPTIONS = {
  "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)", common: true },
  ...NATS_AUTH_OPTIONS,
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
