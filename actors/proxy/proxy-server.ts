/**
 * One proxy replica (DESIGN.md, "Proxy"): a node:http server that resolves
 * the named sandbox port, gates by the replica's view of the record, and
 * forwards HTTP and WebSocket traffic to the sandbox's current endpoint.
 *
 * Hot path (a running sandbox with a valid token): resolve the target (string
 * ops), one Map lookup, the gate (one sha256 for secure sandboxes), forward
 * over a pooled keep-alive socket. No KV reads, no promises, no per-request
 * closures beyond node's own. Everything else goes through `admit`.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { randomBytes } from "node:crypto";
import http from "node:http";
import os from "node:os";
import type { Duplex } from "node:stream";
import type { CorralConfig } from "../../src/config.js";
import { bufferedLogger, logger, type Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { AccessLog, pathWithoutQuery } from "./access-log.js";
import { ActivityReporter } from "./activity-reporter.js";
import { admit, type Admission } from "./admission.js";
import { AutoResumer, UNAVAILABLE_RETRY_AFTER_S } from "./auto-resume.js";
import { createUpstreamDispatcher, forwardHttp } from "./forward.js";
import { forwardUpgrade } from "./forward-upgrade.js";
import { decide } from "./gate.js";
import { sendError, writeRawError } from "./responses.js";
import { isTarget, resolveTarget, type Target } from "./resolve-target.js";
import { RouteTable, type RouteSource } from "./route-table.js";
import { upstreamOf } from "./upstream.js";

/** Options of `startProxy`. */
export interface ProxyOptions {
  /** Connection for events, resume requests and activity batches (not closed by `close`). */
  nc: NatsConnection;
  /** The sandbox KV (`SandboxStore`): loaded at start, read on a miss. */
  store: RouteSource;
  /** Server config; the proxy uses `proxyWaitMs` and `tombstoneMs`. */
  config: CorralConfig;
  /** TCP port to listen on; 0 picks a free one (see the returned `port`). */
  port: number;
  /** Domain of host-form routing, e.g. `corral.localhost` (a leading dot is ignored). */
  domain: string;
  /** Address to listen on. @default "0.0.0.0" */
  host?: string;
  /** Write one access-log line per request (pino, `info`). @default true */
  accessLog?: boolean;
  /** Name of this replica in activity batches and logs. @default `proxy-<hostname>-<pid>-<random>` */
  proxyId?: string;
  /** On close, how long requests in flight may finish before their connections are cut. @default 5000 */
  drainMs?: number;
}

/** A running replica. */
export interface ProxyHandle {
  /** The port it listens on. */
  readonly port: number;
  /**
   * Stops listening, lets requests in flight finish (at most `drainMs`), then
   * cuts every connection (WebSockets included) and closes the subscription;
   * the NATS connection stays open.
   */
  close(): Promise<void>;
}

const TOKEN_HEADERS = ["x-corral-traffic-token", "e2b-traffic-access-token"] as const;
const NO_TARGET = "request names no sandbox: use host <port>-<sandboxId>.<domain>, headers X-Corral-Sandbox-Id/Port, or path /sandboxes/<sandboxId>/<port>/";

function tokenOf(req: http.IncomingMessage): string | undefined {
  const h = req.headers;
  const v = h[TOKEN_HEADERS[0]] ?? h[TOKEN_HEADERS[1]];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Starts a replica: listens at once (so `/healthz` can answer 503 while
 * loading), then loads the KV and subscribes to events. Resolves once the
 * replica is ready (`/healthz` is 200).
 */
export async function startProxy(options: ProxyOptions): Promise<ProxyHandle> {
  const { nc, store, config } = options;
  const domain = options.domain.replace(/^\./, "").toLowerCase();
  const proxyId = options.proxyId ?? `proxy-${os.hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  const log: Logger = logger("proxy", { proxyId });
  // No redaction pass: an access line is an `AccessEntry` (typed fields, no
  // header, no query string), which cannot carry a token; redaction would cost 4x the line.
  const accessLog = new AccessLog(bufferedLogger("proxy.access", { proxyId }, { redact: false }), options.accessLog ?? true);
  const table = new RouteTable(nc, store, log, { tombstoneMs: config.tombstoneMs });
  const resumer = new AutoResumer(nc, log);
  const activity = new ActivityReporter(nc, proxyId, log);
  const dispatcher = createUpstreamDispatcher();

  /** Forwards to the record's current endpoint and counts the request. */
  const forward = (req: http.IncomingMessage, res: http.ServerResponse, target: Target, record: StoredSandbox): void => {
    const upstream = upstreamOf(record, target.port);
    if (typeof upstream === "string") return sendError(res, 502, upstream);
    activity.record(record.nodeId, record.sandboxId, Date.now());
    forwardHttp(req, res, upstream, target.path, target.port, dispatcher);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const startedAt = performance.now();
    const url = req.url ?? "/";
    const target = resolveTarget(req.headers.host, req.headers, url, domain);
    if (accessLog.enabled) {
      const socket = req.socket;
      const bytesBefore = socket.bytesWritten;
      res.once("close", () =>
        accessLog.write({
          sandboxId: isTarget(target) ? target.sandboxId : null,
          port: isTarget(target) ? target.port : null,
          method: req.method,
          path: pathWithoutQuery(url),
          status: res.statusCode,
          durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
          bytes: socket.bytesWritten - bytesBefore,
        }),
      );
    }
    if (target === null) {
      if (url === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
        if (table.ready) {
          res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
          res.end(JSON.stringify({ status: "ok", sandboxes: table.size }));
        } else sendError(res, 503, "proxy is not synced with the sandbox store", UNAVAILABLE_RETRY_AFTER_S);
        return;
      }
      return sendError(res, 404, NO_TARGET);
    }
    if (!isTarget(target)) return sendError(res, 404, target.message);
    const token = tokenOf(req);
    const record = table.get(target.sandboxId);
    // Fast path: running and authorized, straight from the view.
    if (record !== undefined && decide(record, token).action === "forward") return forward(req, res, target, record);
    // Slow path: the body waits in the socket (paused stream) until admitted.
    void admitOrFail(target, token).then((a) => {
      if (res.destroyed) return;
      if (a.ok) forward(req, res, target, a.record);
      else sendError(res, a.status, a.message, a.retryAfterS);
    });
  };

  const admitOrFail = (target: Target, token: string | undefined): Promise<Admission> =>
    admit(table, resumer, target.sandboxId, token, config.proxyWaitMs).catch((err: unknown) => {
      log.warn({ err, sandboxId: target.sandboxId }, "admission failed");
      return { ok: false, status: 503, message: "sandbox store is unavailable", retryAfterS: UNAVAILABLE_RETRY_AFTER_S } as const;
    });

  /** Spliced WebSocket connections: the http server no longer tracks them, so `close` must. */
  const upgraded = new Set<Duplex>();
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const target = resolveTarget(req.headers.host, req.headers, req.url ?? "/", domain);
    if (target === null) return writeRawError(socket, 404, NO_TARGET);
    if (!isTarget(target)) return writeRawError(socket, 404, target.message);
    socket.on("error", () => socket.destroy());
    void admitOrFail(target, tokenOf(req)).then((a) => {
      if (socket.destroyed) return;
      if (!a.ok) return writeRawError(socket, a.status, a.message, a.retryAfterS);
      const upstream = upstreamOf(a.record, target.port);
      if (typeof upstream === "string") return writeRawError(socket, 502, upstream);
      activity.record(a.record.nodeId, a.record.sandboxId, Date.now());
      const closeConn = activity.openConnection(a.record.nodeId, a.record.sandboxId);
      upgraded.add(socket);
      socket.once("close", () => {
        closeConn();
        upgraded.delete(socket);
      });
      forwardUpgrade(req, socket, head, upstream, target.path, target.port);
    });
  };

  const server = http.createServer({ keepAlive: true, noDelay: true }, onRequest);
  server.on("upgrade", onUpgrade);
  // Long uploads and downloads are legitimate through a sandbox proxy: no
  // whole-request deadline (headers still have one).
  server.requestTimeout = 0;
  server.on("clientError", (_err, socket) => writeRawError(socket, 400, "malformed request"));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  try {
    await table.start();
  } catch (err) {
    server.close();
    table.close();
    throw err;
  }
  activity.start();
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  log.info({ port, domain, sandboxes: table.size }, "proxy ready");

  return {
    port,
    async close() {
      // server.close() stops accepting and closes idle keep-alive connections;
      // its callback runs once the requests in flight are done.
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise<void>((resolve) => (timer = setTimeout(resolve, options.drainMs ?? 5_000)))]);
      clearTimeout(timer);
      server.closeAllConnections();
      for (const s of upgraded) s.destroy();
      table.close();
      activity.stop();
      await Promise.all([drained, dispatcher.destroy()]);
      accessLog.flush();
    },
  };
}
