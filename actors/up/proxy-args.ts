/**
 * The `corral proxy` command line `corral up` starts: its port, domain and
 * bind address (`--proxy-host`, else `--host`, which is loopback unless told
 * otherwise, as for every other server `up` starts), and the limit flags passed through as given
 * (validated here first, so a bad value stops `up` before anything starts;
 * `CORRAL_PROXY_*` variables reach the child through its environment).
 */
import { LIMIT_FLAGS, LIMIT_OPTIONS, resolveLimits } from "../proxy/limits.js";
import { InvalidArgumentError } from "../../src/errors.js";

/** `corral up`'s proxy options (for `parse`). */
export const UP_PROXY_OPTIONS = {
  "proxy-host": { type: "string", value: "ADDR", help: "address the proxy listens on (default --host)" },
  ...LIMIT_FLAGS,
} as const;

/** Where `up` reaches the proxy it started (its readiness probe, the address it prints). */
export function proxyProbeHost(bindHost: string): string {
  if (bindHost === "0.0.0.0") return "127.0.0.1";
  if (bindHost === "::") return "::1";
  return bindHost;
}

/** The arguments of the proxy child. @throws InvalidArgumentError on a bad limit or an empty host */
export function proxyChildArgs(values: Record<string, string | boolean | undefined>, natsUrl: string, port: number, domain: string, env: NodeJS.ProcessEnv): string[] {
  const host = values["proxy-host"] ?? values.host ?? "127.0.0.1";
  if (typeof host !== "string" || host.length === 0) throw new InvalidArgumentError("--proxy-host: expected an address to listen on");
  resolveLimits(values, env);
  const args = ["--nats-url", natsUrl, "--port", String(port), "--domain", domain, "--host", host];
  for (const { flag } of Object.values(LIMIT_OPTIONS)) {
    const v = values[flag];
    if (typeof v === "string") args.push(`--${flag}`, v);
  }
  return args;
}
