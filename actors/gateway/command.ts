/**
 * `corral gateway --nats-url URL [--port 3000] [--host 0.0.0.0]
 * [--sandbox-domain D]`: one E2B gateway replica until SIGINT/SIGTERM. It
 * prints its address once it listens.
 */
import { parse } from "../../src/cli/args.js";
import { nextStopSignal } from "../../src/cli/stop-signal.js";
import { defaultNatsUrl } from "../../src/config.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { logger } from "../../src/log.js";
import { connectNats, parseNatsUrls } from "../../src/nats/connection.js";
import { startGateway } from "./server.js";

/** Default port of `corral gateway` (E2B's SDKs' debug default is 3000 too). */
export const DEFAULT_GATEWAY_PORT = 3000;

/** Parsed `corral gateway` arguments. */
export interface GatewayCommandOptions {
  natsUrl: string;
  port: number;
  host: string;
  sandboxDomain: string | null;
  json: boolean;
}

/** Parses and validates `corral gateway`'s arguments (no I/O). */
export function parseGatewayArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): GatewayCommandOptions {
  const { values, positionals } = parse(
    argv,
    {
      "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)" },
      port: { type: "string", help: `HTTP port (default ${DEFAULT_GATEWAY_PORT})` },
      host: { type: "string", value: "ADDR", help: "address to listen on (default 0.0.0.0)" },
      "sandbox-domain": { type: "string", value: "D", help: "the `domain` in sandbox replies (E2B SDKs use it for sandbox hosts when E2B_SANDBOX_URL is unset)" },
      json: { type: "boolean", default: false, help: "print the address as JSON" },
    },
    { command: "gateway", summary: "Serves the E2B-compatible HTTP API until SIGINT/SIGTERM." },
  );
  if (positionals.length > 0) throw new InvalidArgumentError(`corral gateway takes no arguments, got ${positionals.join(" ")}`);
  const natsUrl = values["nats-url"] ?? defaultNatsUrl(env);
  parseNatsUrls(natsUrl);
  let port = DEFAULT_GATEWAY_PORT;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) throw new InvalidArgumentError(`--port: expected 0..65535, got ${JSON.stringify(values.port)}`);
  }
  const host = values.host ?? "0.0.0.0";
  if (host.length === 0) throw new InvalidArgumentError("--host: expected an address to listen on");
  const domain = values["sandbox-domain"];
  if (domain !== undefined && !/^[a-z0-9.-]+(:\d+)?$/i.test(domain)) throw new InvalidArgumentError(`--sandbox-domain: expected a domain name, got ${JSON.stringify(domain)}`);
  return { natsUrl, port, host, sandboxDomain: domain ?? null, json: values.json };
}

/** The `corral gateway` command; resolves with the exit code once stopped by a signal. */
export async function runGatewayCommand(argv: string[]): Promise<number> {
  const opts = parseGatewayArgs(argv);
  const log = logger("gateway.command");
  const stopSignal = nextStopSignal();
  const nc = await connectNats({ natsUrl: opts.natsUrl, name: "corral-gateway" }, { wait: true, log });
  let gateway;
  try {
    gateway = await startGateway({ nc, port: opts.port, host: opts.host, sandboxDomain: opts.sandboxDomain });
  } catch (err) {
    await nc.close();
    throw err;
  }
  const url = `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${gateway.port}`;
  process.stdout.write(opts.json ? `${JSON.stringify({ gateway: url, port: gateway.port })}\n` : `corral gateway: ${url}  (E2B_API_URL)\n`);
  const signal = await stopSignal;
  log.info({ signal }, "stopping");
  await gateway.close();
  await nc.drain().catch(() => undefined);
  return 0;
}
