/**
 * `corral ui --nats-url URL[,URL...] --token-file FILE [--port 8481] [--host 127.0.0.1]`: connects to
 * NATS, waiting for it and JetStream at start (reconnecting forever: the UI must outlive a NATS restart and say so),
 * opens the store and registry, starts the server and prints its address.
 * Runs until SIGINT/SIGTERM.
 */
import { parse, NATS_AUTH_OPTIONS, natsAuthOf } from "../../src/cli/args.js";
import { nextStopSignal } from "../../src/cli/stop-signal.js";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { logger } from "../../src/log.js";
import { connectNats } from "../../src/nats/connection.js";
import { untilAvailable } from "../../src/nats/wait.js";
import { NodeRegistry, SandboxStore } from "../../src/store/index.js";
import { readTokenFile } from "./login.js";
import { startUi } from "./server.js";

const log = logger("ui");

function portOf(value: string | undefined): number {
  if (value === undefined) return 8481;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError(`--port: expected 0..65535, got ${JSON.stringify(value)}`);
  return port;
}

/** The `corral ui` command. Serves until SIGINT/SIGTERM, then resolves with 0. */
export async function runUiCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)" },
      ...NATS_AUTH_OPTIONS,
      port: { type: "string", help: "HTTP port (default 8481)" },
      host: { type: "string", value: "ADDR", help: "address to listen on (default 127.0.0.1)" },
      "token-file": { type: "string", value: "FILE", required: true, help: "file holding the token every visitor is asked for (default $CORRAL_UI_TOKEN_FILE; corral up makes one)" },
      json: { type: "boolean", default: false, help: "print the address as JSON" },
    },
    { command: "ui", summary: "Serves the state-machine visualizer until SIGINT/SIGTERM." },
  );
  if (positionals.length > 0) throw new InvalidArgumentError(`corral ui takes no arguments, got ${positionals.join(" ")}`);
  const port = portOf(values.port);
  const tokenFile = values["token-file"] ?? process.env.CORRAL_UI_TOKEN_FILE;
  if (!tokenFile) throw new InvalidArgumentError("--token-file FILE is required: the UI asks every visitor for the token in it (corral up makes one)");
  const token = readTokenFile(tokenFile);
  const config = resolveConfig();
  const nc = await connectNats({ natsUrl: values["nats-url"], name: "corral-ui", reconnectTimeWaitMs: 500, asyncTraces: true, auth: natsAuthOf(values) }, { wait: true, log });
  const [store, registry] = await untilAvailable("open buckets", () => Promise.all([SandboxStore.open(nc, config), NodeRegistry.open(nc, config)]), log);
  const ui = await startUi({ nc, store, registry, client: new CorralClient(nc), port, host: values.host ?? "127.0.0.1", token, nodeLeaseMs: config.nodeLeaseMs });
  process.stdout.write(values.json ? `${JSON.stringify({ ui: ui.url })}\n` : `corral ui: ${ui.url}\n`);

  // The command is over once the server has stopped (corral.ts exits with its code then).
  const signal = await nextStopSignal();
  log.info({ signal }, "ui: stopping");
  try {
    await ui.close();
    await nc.drain();
  } catch (err) {
    log.warn({ err }, "ui: unclean stop");
  }
  return 0;
}
