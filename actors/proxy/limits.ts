/**
 * The proxy's resource limits (DESIGN.md, "Proxy limits"): timeouts and the
 * connection cap, from flags or the environment, validated at start-up. A
 * client never holds unbounded resources: a head, a body, an upstream answer
 * and an idle keep-alive connection each have a deadline, the number of
 * connections has a cap, and a client's unsent answers have a ceiling
 * (`MAX_UNSENT_BYTES`) above which the proxy stops reading from it.
 */
import { z } from "zod";
import { InvalidArgumentError } from "../../src/errors.js";

/** The limits of one replica. */
export interface ProxyLimits {
  /** A request head must be complete within this long of its first byte (408, close). */
  headerTimeoutMs: number;
  /** Longest wait for the next request body byte (408, close). */
  bodyTimeoutMs: number;
  /** Longest wait for the sandbox's response head or its next body byte (504, or a close once answering). */
  upstreamTimeoutMs: number;
  /** A keep-alive connection idle this long is closed (announced in `Keep-Alive: timeout=`). */
  idleTimeoutMs: number;
  /** Connections above this many are answered 503 and closed. */
  maxConnections: number;
}

/** The contract's defaults. */
export const DEFAULT_LIMITS: Readonly<ProxyLimits> = Object.freeze({
  headerTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  upstreamTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  maxConnections: 10_000,
});

/** Above this many unsent bytes to a client, the proxy stops reading from it until they drain. */
export const MAX_UNSENT_BYTES = 1024 * 1024;

/** Each limit's flag and environment variable. */
export const LIMIT_OPTIONS = {
  headerTimeoutMs: { flag: "header-timeout-ms", env: "CORRAL_PROXY_HEADER_TIMEOUT_MS", help: "a request head must be complete within MS of its first byte (408)" },
  bodyTimeoutMs: { flag: "body-timeout-ms", env: "CORRAL_PROXY_BODY_TIMEOUT_MS", help: "longest wait for the next request body byte (408)" },
  upstreamTimeoutMs: { flag: "upstream-timeout-ms", env: "CORRAL_PROXY_UPSTREAM_TIMEOUT_MS", help: "longest wait for the sandbox's answer or its next byte (504)" },
  idleTimeoutMs: { flag: "idle-timeout-ms", env: "CORRAL_PROXY_IDLE_TIMEOUT_MS", help: "an idle keep-alive connection is closed after MS" },
  maxConnections: { flag: "max-connections", env: "CORRAL_PROXY_MAX_CONNECTIONS", help: "connections above N are answered 503 and closed" },
} as const satisfies Record<keyof ProxyLimits, { flag: string; env: string; help: string }>;

/** The limit flags, for `parse` (node:util parseArgs), each with its `--help` line. */
export const LIMIT_FLAGS = Object.fromEntries(
  (Object.keys(LIMIT_OPTIONS) as (keyof ProxyLimits)[]).map((key) => {
    const { flag, env, help } = LIMIT_OPTIONS[key];
    const value = key === "maxConnections" ? "N" : "MS";
    return [flag, { type: "string", value, help: `${help} (default $${env}, then ${DEFAULT_LIMITS[key]})` }];
  }),
) as Record<(typeof LIMIT_OPTIONS)[keyof ProxyLimits]["flag"], { type: "string"; value: string; help: string }>;

/** A day: no timeout needs more, and a typo in a flag should not disable one. */
const MAX_TIMEOUT_MS = 86_400_000;
const timeout = z.coerce.number().int().min(1).max(MAX_TIMEOUT_MS);
const LimitsSchema = z.object({
  headerTimeoutMs: timeout,
  bodyTimeoutMs: timeout,
  upstreamTimeoutMs: timeout,
  idleTimeoutMs: timeout,
  maxConnections: z.coerce.number().int().min(1).max(1_000_000),
});

/**
 * The limits from parsed flags (`values`, by flag name), else the
 * environment, else the defaults; each a whole number in its range.
 *
 * @throws InvalidArgumentError naming the flag (and variable) of a bad value
 */
export function resolveLimits(values: Partial<Record<string, string | boolean | undefined>>, env: NodeJS.ProcessEnv): ProxyLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(LIMIT_OPTIONS) as (keyof ProxyLimits)[]) {
    const { flag, env: name } = LIMIT_OPTIONS[key];
    const fromFlag = values[flag];
    const raw = typeof fromFlag === "string" ? fromFlag : env[name];
    if (raw === undefined || raw === "") continue;
    const parsed = LimitsSchema.shape[key].safeParse(/^\d+$/.test(raw) ? raw : Number.NaN);
    if (!parsed.success) {
      const range = key === "maxConnections" ? "1..1000000" : `1..${MAX_TIMEOUT_MS} (ms)`;
      throw new InvalidArgumentError(`--${flag} (${name}): expected a whole number ${range}, got ${JSON.stringify(raw)}`);
    }
    out[key] = parsed.data;
  }
  return LimitsSchema.parse(out);
}

/** The limits as `corral proxy` flags (what `corral up` passes through). */
export function limitArgs(limits: Partial<ProxyLimits>): string[] {
  const out: string[] = [];
  for (const key of Object.keys(LIMIT_OPTIONS) as (keyof ProxyLimits)[]) {
    const v = limits[key];
    if (v !== undefined) out.push(`--${LIMIT_OPTIONS[key].flag}`, String(v));
  }
  return out;
}
