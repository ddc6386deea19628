/**
 * A standalone proxy replica configured from the environment, for tests that
 * need the proxy in its own process (a clean RSS measurement) and for the
 * bench. `corral proxy` (src/cli) is the user-facing command; this is not.
 *
 * Env: `CORRAL_NATS_URL` (required), `CORRAL_PROXY_PORT` (default 0 = any),
 * `CORRAL_PROXY_DOMAIN` (default corral.localhost), `CORRAL_PROXY_HOST`
 * (default 127.0.0.1), `CORRAL_PROXY_ACCESS_LOG` (`0` disables it), plus
 * every `resolveConfig` variable. Prints one JSON line `{"port": N}` on
 * stdout when ready; stops on SIGTERM/SIGINT.
 */
import { connect } from "@nats-io/transport-node";
import { resolveConfig } from "../../src/config.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { startProxy } from "./proxy-server.js";

const url = process.env.CORRAL_NATS_URL;
if (!url) {
  process.stderr.write("CORRAL_NATS_URL is required\n");
  process.exit(2);
}
const config = resolveConfig();
const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
const store = await SandboxStore.open(nc, config);
const proxy = await startProxy({
  nc,
  store,
  config,
  port: Number(process.env.CORRAL_PROXY_PORT ?? 0),
  domain: process.env.CORRAL_PROXY_DOMAIN ?? "corral.localhost",
  host: process.env.CORRAL_PROXY_HOST ?? "127.0.0.1",
  accessLog: process.env.CORRAL_PROXY_ACCESS_LOG !== "0",
});
process.stdout.write(`${JSON.stringify({ port: proxy.port })}\n`);

const stop = async () => {
  await proxy.close();
  await nc.drain();
  process.exit(0);
};
process.once("SIGTERM", () => void stop());
process.once("SIGINT", () => void stop());
