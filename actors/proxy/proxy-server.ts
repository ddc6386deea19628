/**
 * One proxy replica (DESIGN.md, "Proxy"): a raw `net` server speaking
 * HTTP/1.1 (`client-connection.ts`) that resolves the named sandbox port,
 * gates by the replica's view of the record, and forwards HTTP and WebSocket
 * traffic to the sandbox's current endpoint (`upstream-connection.ts`).
 *
 * Hot path (a running sandbox with a valid token): parse the head (string
 * ops), resolve the target, one Map lookup, the gate (for a secure sandbox a
 * sha256 the first time, then a compare with the token remembered for that
 * record), write the rewritten head on a socket pinned to the client
 * connection. No KV reads, no promises, no per-request closures. Everything
 * else goes through `admit`.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { randomBytes } from "node:crypto";
import net from "node:net";
import os from "node:os";
import type { CorralConfig } from "../../src/config.js";
import { bufferedLogger, logger, type Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { AccessLog } from "./access-log.js";
import { ActivityReporter } from "./activity-reporter.js";
import { admit, type Admission } from "./admission.js";
import { AutoResumer, UNAVAILABLE_RETRY_AFTER_S } from "./auto-resume.js";
import { ClientConnection, type ConnectionContext } from "./client-connection.js";
import { ENVD_PORT, EnvdRoutes, envdPath, envdRefusalStatus } from "./envd-route.js";
import { decide } from "./gate.js";
import { routingHeaders, type RequestHead } from "./http1-parser.js";
import { DEFAULT_LIMITS, type ProxyLimits } from "./limits.js";
import { errorResponse } from "./responses.js";
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
  /** Timeouts and the connection cap (DESIGN.md, "Proxy limits"); missing ones are the contract's defaults. */
  limits?: Partial<ProxyLimits>;
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

const TOO_MANY = "too many connections to this proxy";
const NO_TARGET = "request names no sandbox: use host <port>-<sandboxId>.<domain>, headers X-Corral-Sandbox-Id/Port, or path /sandboxes/<sandboxId>/<port>/";
/** How often timeouts are checked and the coarse clock ticks: a quarter of the shortest timeout, within 25..1000 ms. */
function sweepInterval(limits: ProxyLimits): number {
  const shortest = Math.min(limits.headerTimeoutMs, limits.bodyTimeoutMs, limits.upstreamTimeoutMs, limits.idleTimeoutMs);
  return Math.max(25, Math.min(1_000, Math.floor(shortest / 4)));
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
  // header, no query string), which cannot carry a token; redaction would be most of the cost of a line.
  const accessLog = new AccessLog(bufferedLogger("proxy.access", { proxyId }, { redact: false }), options.accessLog ?? true);
  const table = new RouteTable(nc, store, log, { tombstoneMs: config.tombstoneMs });
  const resumer = new AutoResumer(nc, log);
  const activity = new ActivityReporter(nc, proxyId, log);
  const limits: ProxyLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const envd = new EnvdRoutes();
  const connections = new Set<ClientConnection>();
  let onDrained: (() => void) | undefined;

  /** Forwards to the record's current endpoint and counts the request. */
  const forward = (conn: ClientConnection, target: Target, record: StoredSandbox): void => {
    const isEnvd = target.port === ENVD_PORT;
    const upstream = isEnvd ? envd.upstream(record) : upstreamOf(record, target.port);
    if (typeof upstream === "string") return conn.respondError(502, upstream);
    activity.record(record.nodeId, record.sandboxId, Date.now());
    conn.forward(upstream, isEnvd ? envdPath(record.sandboxId, target.path) : target.path, record);
  };

  const admitOrFail = (target: Target, token: string | undefined, onResume?: (paused: StoredSandbox) => void): Promise<Admission> =>
    admit(table, resumer, target.sandboxId, token, config.proxyWaitMs, onResume).catch((err: unknown) => {
      log.warn({ err, sandboxId: target.sandboxId }, "admission failed");
      return { ok: false, status: 503, message: "sandbox store is unavailable", retryAfterS: UNAVAILABLE_RETRY_AFTER_S } as const;
    });

  const ctx: ConnectionContext = {
    accessLog,
    stopping: false,
    clock: Date.now(),
    limits,
    keepAlive: Object.freeze(["Keep-Alive", `timeout=${Math.floor(limits.idleTimeoutMs / 1000)}`]),
    route(conn: ClientConnection, req: RequestHead): void {
      const url = req.url;
      const target = resolveTarget(req.host, routingHeaders(req), url, domain);
      if (target === null) {
        if (url === "/healthz" && (req.method === "GET" || req.method === "HEAD")) {
          if (table.ready) conn.respondJson(200, JSON.stringify({ status: "ok", sandboxes: table.size }));
          else conn.respondError(503, "proxy is not synced with the sandbox store", UNAVAILABLE_RETRY_AFTER_S);
          return;
        }
        return conn.respondError(404, NO_TARGET);
      }
      if (!isTarget(target)) return conn.respondError(404, target.message);
      conn.setTarget(target.sandboxId, target.port);
      const record = table.get(target.sandboxId);
      // Fast path: running and authorized, straight from the view.
      if (record !== undefined && decide(record, req.token).action === "forward") return forward(conn, target, record);
      // Slow path: the connection stops reading until admitted.
      conn.hold();
      const preconnect = (paused: StoredSandbox) => {
        const upstream = upstreamOf(paused, target.port);
        // After the resume request has left (it is flushed from a microtask), so the handshake overlaps the resume.
        if (typeof upstream !== "string") setImmediate(() => conn.open && conn.preconnect(upstream));
      };
      admitOrFail(target, req.token, preconnect)
        .then((a) => {
          if (!conn.open) return;
          if (a.ok) forward(conn, target, a.record);
          else conn.respondError(target.port === ENVD_PORT ? envdRefusalStatus(a.status) : a.status, a.message, a.retryAfterS);
        })
        .catch((err: unknown) => {
          // A bug, not a client's doing: cut this connection, keep the replica.
          log.error({ err, sandboxId: target.sandboxId }, "answering a request failed");
          conn.destroy();
        });
    },
    spliced(_conn: ClientConnection, record: StoredSandbox): () => void {
      return activity.openConnection(record.nodeId, record.sandboxId);
    },
    closed(conn: ClientConnection): void {
      connections.delete(conn);
      if (onDrained !== undefined && inFlight() === 0) onDrained();
    },
  };

  /** Connections that are not spliced WebSockets (what a stop waits for). */
  const inFlight = (): number => {
    let n = 0;
    for (const c of connections) if (!c.spliced) n++;
    return n;
  };

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
    if (ctx.stopping) return void socket.destroy();
    if (connections.size >= limits.maxConnections) return refuse(socket);
    connections.add(new ClientConnection(socket, ctx));
  });
  /** Over the cap: 503 at once (before reading anything), logged, closed. */
  const refuse = (socket: net.Socket): void => {
    const text = errorResponse(503, TOO_MANY, true, UNAVAILABLE_RETRY_AFTER_S);
    socket.on("error", () => socket.destroy());
    socket.setTimeout(1_000, () => socket.destroy());
    socket.end(text);
    socket.resume();
    accessLog.write({ sandboxId: null, port: null, method: undefined, path: "", status: 503, durationMs: 0, bytes: Buffer.byteLength(text) });
  };
  const sweepMs = sweepInterval(limits);
  let lastSweep = ctx.clock;
  const sweep = setInterval(() => {
    const now = Date.now();
    // A late tick means this process was busy (or starved): the times stamped
    // meanwhile with the old clock would make clients look late. Judge no one
    // this tick; the next one compares against fresh stamps.
    const late = now - lastSweep > 2 * sweepMs;
    lastSweep = ctx.clock = now;
    if (late) return;
    // Stamps are taken from the coarse clock, up to one tick before the real
    // moment: judging a tick back makes a timeout fire late, never early.
    const judged = now - sweepMs;
    for (const c of connections) c.sweep(judged);
  }, sweepMs);
  sweep.unref();

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  try {
    await table.start();
    await envd.start(nc, config, log);
  } catch (err) {
    clearInterval(sweep);
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
      // Stop accepting; idle connections close now, the others after their
      // response (they see `stopping`), spliced ones at the end.
      const listening = new Promise<void>((resolve) => server.close(() => resolve()));
      ctx.stopping = true;
      for (const c of connections) if (c.idle) c.destroy();
      if (inFlight() > 0) {
        let timer: NodeJS.Timeout | undefined;
        await new Promise<void>((resolve) => {
          onDrained = resolve;
          timer = setTimeout(resolve, options.drainMs ?? 5_000);
        });
        clearTimeout(timer);
      }
      for (const c of connections) c.destroy();
      clearInterval(sweep);
      table.close();
      envd.close();
      activity.stop();
      await listening;
      accessLog.flush();
    },
  };
}
