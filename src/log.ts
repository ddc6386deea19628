/**
 * Logging: pino, structured JSON, one child logger per component with its ids
 * bound. Secrets are redacted by path so that a careless `log.info({req})`
 * still never prints a traffic token or a sandbox's env.
 */
import { pino, type Logger } from "pino";

export type { Logger };

/** Paths pino censors wherever they appear in a log object. */
export const REDACT_PATHS = [
  "trafficToken",
  "*.trafficToken",
  "token",
  "*.token",
  "tokenHash",
  "*.tokenHash",
  "*.*.tokenHash",
  "env",
  "*.env",
  'headers["x-corral-traffic-token"]',
  'headers["e2b-traffic-access-token"]',
  '*.headers["x-corral-traffic-token"]',
  '*.headers["e2b-traffic-access-token"]',
];

let root: Logger | undefined;

/**
 * The process's root logger. Level from `CORRAL_LOG_LEVEL` (default `info`;
 * `silent` in tests unless set). Writes JSON to stderr so stdout stays the
 * CLI's machine-readable output.
 */
export function rootLogger(): Logger {
  root ??= pino(
    {
      level: process.env.CORRAL_LOG_LEVEL ?? (process.env.VITEST ? "silent" : "info"),
      base: { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    },
    pino.destination({ fd: 2, sync: false }),
  );
  return root;
}

/** A component's logger, e.g. `logger("node", {nodeId})`. */
export function logger(component: string, bindings: Record<string, unknown> = {}): Logger {
  return rootLogger().child({ component, ...bindings });
}
