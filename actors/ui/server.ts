/**
 * `startUi`: the visualizer's HTTP server (node:http). It serves the bundled
 * web app and a small JSON + SSE API over the cluster's state; the browser
 * never talks to NATS. Every record it sends is a public record
 * (`toPublicRecord`): no token hash, endpoint or driver handle leaves here.
 * Every page and action requires the login token (./login.ts); only
 * `/healthz` answers without it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralClient } from "../../src/client/client.js";
import { DEFAULTS } from "../../src/config.js";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.js";
import { isSandboxId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import type { NodeRegistry, SandboxStore } from "../../src/store/index.js";
import { sandboxMachine } from "../../machines/sandbox/machine.js";
import { isUiAction, runAction } from "./actions.js";
import { layoutChart } from "./chart-layout.js";
import { readHistory } from "./history.js";
import { sendError, sendJson } from "./http-util.js";
import { LiveHub } from "./live-hub.js";
import { UiLogin } from "./login.js";
import { machineGraph } from "./machine-graph.js";
import { SseChannel } from "./sse-channel.js";
import { StaticFiles, defaultAssetsDir } from "./static-files.js";
import type { ChartLayout } from "./wire.js";

/** Options of {@link startUi}. */
export interface UiOptions {
  /** The process's NATS connection (reconnecting forever is the caller's choice; the UI reports drops). */
  nc: NatsConnection;
  store: SandboxStore;
  registry: NodeRegistry;
  /** Actions go through it, so they are the API's own operations. */
  client: CorralClient;
  /** TCP port; 0 picks a free one. @default 8481 */
  port?: number;
  /** Interface to listen on. @default "127.0.0.1" */
  host?: string;
  /** The login token every page and action requires (./login.ts). */
  token: string;
  /** Where the built bundle is. @default `<package root>/dist/ui` */
  assetsDir?: string;
  /** The cluster's node lease (nodes whose heartbeat is older are shown as lost). @default DEFAULTS.nodeLeaseMs */
  nodeLeaseMs?: number;
}

/** A running UI server. */
export interface UiServer {
  port: number;
  /** `http://host:port/` */
  url: string;
  /** Ends SSE streams, stops listening and unsubscribes; leaves the NATS connection open. */
  close(): Promise<void>;
}

const log = logger("ui");

const HISTORY_PATH = /^\/api\/sandboxes\/([^/]+)\/history$/;
const ACTION_PATH = /^\/api\/sandboxes\/([^/]+)\/([a-z_]+)$/;

/** Validates a sandbox id from a URL path before it is put into a subject (a `*` or `>` would be a wildcard). */
function sandboxIdFrom(segment: string) {
  const id = decodeURIComponent(segment);
  if (!isSandboxId(id)) throw new InvalidArgumentError(`invalid sandbox id ${JSON.stringify(id)}: must be 20 characters of [a-z0-9]`);
  return id;
}

/** Starts the UI server; resolves once it listens. */
export async function startUi(options: UiOptions): Promise<UiServer> {
  const { nc, store, registry, client } = options;
  const files = new StaticFiles(options.assetsDir ?? defaultAssetsDir());
  // The machine definition does not change while the process runs: lay it out once.
  const chart: ChartLayout = await layoutChart(machineGraph(sandboxMachine));
  const hub = new LiveHub({ nc, store, registry, log, nodeLeaseMs: options.nodeLeaseMs ?? DEFAULTS.nodeLeaseMs });
  hub.start();

  const login = new UiLogin(options.token);

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://ui.invalid");
    const p = url.pathname;
    // The health probe says only whether NATS is connected; everything else needs the login.
    if (p === "/healthz" && (req.method === "GET" || req.method === "HEAD")) return sendJson(res, hub.status === "connected" ? 200 : 503, { nats: hub.status });
    if (!login.admit(req, res, url)) return;
    if (req.method === "GET" || req.method === "HEAD") {
      if (p === "/api/snapshot") return sendJson(res, 200, await hub.snapshot());
      if (p === "/api/machine") return sendJson(res, 200, chart);
      if (p === "/api/stream") return hub.add(new SseChannel(res));
      const history = HISTORY_PATH.exec(p);
      if (history) return sendJson(res, 200, await readHistory(nc, sandboxIdFrom(history[1]!)));
      if (!p.startsWith("/api/") && files.serve(p, res)) return;
    } else if (req.method === "POST") {
      const action = ACTION_PATH.exec(p);
      if (action && isUiAction(action[2]!)) {
        const id = sandboxIdFrom(action[1]!);
        log.info({ sandboxId: id, action: action[2] }, "ui: action");
        return sendJson(res, 200, await runAction(client, action[2], id, req));
      }
    }
    throw new NotFoundError(`no route ${req.method} ${p}`);
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => sendError(res, err, log));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8481, options.host ?? "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  log.info({ port: address.port, host: address.address }, "ui: listening");
  return {
    port: address.port,
    url: `http://${host}:${address.port}/`,
    async close() {
      hub.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
