/** Argument parsing shared by the CLI commands (node:util parseArgs, strict). */
import fs from "node:fs";
import path from "node:path";
import { parseArgs, type ParseArgsConfig } from "node:util";
import { InvalidArgumentError } from "../errors.js";
import { withAuthDefaults, type NatsAuthSettings } from "../nats/connection.js";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** How to authenticate to NATS and check its certificate: every command takes these (docs/security.md). */
export const NATS_AUTH_OPTIONS = {
  creds: { type: "string" },
  "tls-ca": { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
} as const satisfies Options;

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
  "nats-url": { type: "string" },
  ...NATS_AUTH_OPTIONS,
  json: { type: "boolean", default: false },
} as const satisfies Options;

/** What `parse` returns for the options `O` (named so declarations can refer to it). */
export type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;

export function parse<O extends Options>(argv: string[], options: O): Parsed<O> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
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

/** Exactly `n` positionals. */
export function positionals(cmd: string, values: string[], names: string[], optional = 0): string[] {
  if (values.length < names.length - optional || values.length > names.length) {
    throw new InvalidArgumentError(`usage: corral ${cmd} ${names.map((n, i) => (i >= names.length - optional ? `[${n}]` : n)).join(" ")}`);
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
