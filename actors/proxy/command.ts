/**
 * `corral proxy --nats-url URL[,URL...] [--port 8480] [--domain corral.localhost]
 * [--host 0.0.0.0] [--workers N|auto] [--no-access-log] [--json]
 * [--header-timeout-ms N] [--body-timeout-ms N] [--upstream-timeout-ms N]
 * [--idle-timeout-ms N] [--max-connections N]`
 * (DESIGN.md, "CLI" and "Proxy limits"; the limits also from
 * `CORRAL_PROXY_*` variables, see limits.ts): a proxy replica, or N of them in N processes on one
 * port (workers.ts). Connects to NATS, waiting for it and for JetStream at
 * start (reconnecting forever once connected, failing over along the URL list:
 * the route table resyncs from the KV after a reconnect), loads the KV,
 * prints its address once `/healthz` is 200, and runs until SIGINT/SIGTERM,
 * when it stops listening, lets requests in flight finish (bounded), closes
 * its connections, flushes its last activity batch and drains NATS. The command's promise resolves with the exit code then.
 *
 * Any number of replicas may run against one NATS: they share nothing but
 * the KV and the event broadcasts.
 */
import cluster from "node:cluster";
import os from "node:os";
import { parse, portOption, NATS_AUTH_OPTIONS, natsAuthOf } from "../../src/cli/args.js";
import { nextStopSignal } from "../../src/cli/stop-signal.js";
import { defaultNatsUrl, resolveConfig } from "../../src/config.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { logger, type Logger } from "../../src/log.js";
import { connectNats, parseNatsUrls, type NatsAuthSettings } from "../../src/nats/connection.js";
import { untilAvailable } from "../../src/nats/wait.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { LIMIT_FLAGS, resolveLimits, type ProxyLimits } from "./limits.js";
import { startProxy } from "./proxy-server.js";
import { reportWorkerReady, runWorkers } from "./workers.js";

/** The contract's default proxy port. */
export const DEFAULT_PROXY_PORT = 8480;
/** The contract's default routing domain. */
export const DEFAULT_PROXY_DOMAIN = "corral.localhost";
/** Upper bound of `--workers` (a typo such as 1000 should not fork 1000 processes). */
const MAX_WORKERS = 64;

/** What `corral proxy` was asked for, validated. */
export interface ProxyCommandOptions {
  natsUrl: string;
  /** Credentials and TLS files for NATS. */
  auth: NatsAuthSettings;
  /** 0 lets the OS pick (tests, benches); the chosen port is printed. */
  port: number;
  /** Lower case, no leading dot. */
  domain: string;
  host: string;
  /** Replica processes sharing the port (1: this process serves). */
  workers: number;
  accessLog: boolean;
  json: boolean;
  /** Validated at start-up: a bad value stops the command before it listens. */
  limits: ProxyLimits;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A routing domain: DNS labels of [a-z0-9-], at most 253 characters (upper case accepted, leading dot ignored). */
export function domainOption(value: string | undefined): string {
  if (value === undefined) return DEFAULT_PROXY_DOMAIN;
  const domain = value.replace(/^\./, "").toLowerCase();
  if (domain.length === 0 || domain.length > 253 || !domain.split(".").every((l) => DNS_LABEL.test(l))) {
    throw new InvalidArgumentError(`--domain: expected a DNS name such as corral.localhost, got ${JSON.stringify(value)}`);
  }
  return domain;
}

/** `--workers`: 1..64, or `auto` (one per available CPU). */
export function workersOption(value: string | undefined, cpus: number = os.availableParallelism()): number {
  if (value === undefined) return 1;
  if (value === "auto") return Math.min(Math.max(1, cpus), MAX_WORKERS);
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_WORKERS) throw new InvalidArgumentError(`--workers: expected 1..${MAX_WORKERS} or auto, got ${JSON.stringify(value)}`);
  return n;
}

/** Parses and validates `corral proxy`'s arguments (no I/O). */
export function parseProxyArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ProxyCommandOptions {
  const { values, positionals } = parse(
    argv,
    {
      "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)" },
      ...NATS_AUTH_OPTIONS,
      port: { type: "string", help: `HTTP port (default ${DEFAULT_PROXY_PORT})` },
      domain: { type: "string", help: `sandboxes are reached at <port>-<id>.DOMAIN (default ${DEFAULT_PROXY_DOMAIN})` },
      host: { type: "string", value: "ADDR", help: "address to listen on (default 0.0.0.0)" },
      workers: { type: "string", value: "N|auto", help: `replica processes sharing the port, 1-${MAX_WORKERS} or auto (default 1)` },
      "no-access-log": { type: "boolean", default: false, help: "do not log a line per request" },
      json: { type: "boolean", default: false, help: "print the address as JSON" },
      ...LIMIT_FLAGS,
    },
    { command: "proxy", summary: "Serves HTTP to sandboxes by host name until SIGINT/SIGTERM." },
  );
  if (positionals.length > 0) throw new InvalidArgumentError(`corral proxy takes no arguments, got ${positionals.join(" ")}`);
  const host = values.host ?? "0.0.0.0";
  if (host.length === 0) throw new InvalidArgumentError("--host: expected an address to listen on");
  const natsUrl = values["nats-url"] ?? defaultNatsUrl(env);
  parseNatsUrls(natsUrl); // a malformed list fails here, before anything starts
  return {
    natsUrl,
    auth: natsAuthOf(values),
    port: portOption("--port", values.port, DEFAULT_PROXY_PORT),
    domain: domainOption(values.domain),
    host,
    workers: workersOption(values.workers),
    accessLog: !values["no-access-log"],
    json: values.json,
    limits: resolveLimits(values, env),
  };
}

/** Runs one replica in this process until `stopSignal`; `ready` is told its port. */
async function serveReplica(opts: ProxyCommandOptions, stopSignal: Promise<NodeJS.Signals>, ready: (port: number) => void, log: Logger): Promise<number> {
  const config = resolveConfig();
  // Waits for NATS and JetStream (a proxy started before them logs and
  // retries); afterwards reconnects forever: a replica must outlive a NATS restart.
  const nc = await connectNats({ natsUrl: opts.natsUrl, name: "corral-proxy", auth: opts.auth }, { wait: true, log });
  let proxy;
  try {
    const store = await untilAvailable("open buckets", () => SandboxStore.open(nc, config), log);
    proxy = await startProxy({ nc, store, config, port: opts.port, domain: opts.domain, host: opts.host, accessLog: opts.accessLog, limits: opts.limits });
  } catch (err) {
    await nc.close();
    throw err;
  }
  ready(proxy.port);
  const signal = await stopSignal;
  log.info({ signal }, "stopping");
  try {
    await proxy.close();
    await nc.drain();
  } catch (err) {
    log.warn({ err }, "unclean stop");
    return 1;
  }
  return 0;
}

function printAddress(opts: ProxyCommandOptions, port: number): void {
  const url = `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}`;
  process.stdout.write(
    opts.json
      ? `${JSON.stringify({ proxy: url, port, domain: opts.domain, workers: opts.workers })}\n`
      : `corral proxy: ${url}  (http://<port>-<sandboxId>.${opts.domain}:${port}/)${opts.workers > 1 ? `  ${opts.workers} workers` : ""}\n`,
  );
}

/** The `corral proxy` command; resolves with the exit code once stopped by a signal. */
export async function runProxyCommand(argv: string[]): Promise<number> {
  const opts = parseProxyArgs(argv);
  const log = logger("proxy.command");
  // Listen for signals before anything slow, so a stop during start-up is not lost.
  const stopSignal = nextStopSignal();
  // A worker forked by our own primary (the same command line) serves and reports to it.
  if (cluster.isWorker && process.env.CORRAL_PROXY_WORKER === "1") return serveReplica(opts, stopSignal, reportWorkerReady, log);
  if (opts.workers === 1) return serveReplica(opts, stopSignal, (port) => printAddress(opts, port), log);
  const { port, stopped } = await runWorkers(opts.workers, stopSignal, log);
  printAddress(opts, port);
  await stopped;
  return 0;
}
