/**
 * `corral gateway`: the E2B REST API over Corral (DESIGN.md, "E2B
 * compatibility"). A stateless replica like the proxy: every answer comes
 * from the API (acting as the key's tenant on
 * `corral.v1.tenant.<tenant>.sandbox.<op>`) and KV `corral_api_keys`; run as
 * many as you like behind any load balancer.
 *
 * Every request needs `X-API-Key` (401 otherwise), a key of
 * `corral_api_keys`; each key belongs to one tenant and sees only that
 * tenant's sandboxes.
 *
 * Faults: the gateway's API calls are the client library's (src/client), so
 * each is bounded (10 s by default, or the caller's `Corral-Deadline`
 * header if sooner), carries its deadline, and a safe one is retried on
 * another live API instance; a call that cannot be answered in time is 503.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { CorralClient } from "../../src/client/client.js";
import { DEADLINE_HEADER, DEFAULT_REQUEST_DEADLINE_MS, parseDeadline } from "../../src/deadline-header.js";
import { InvalidArgumentError, NotFoundError } from "../../src/errors.js";
import { isSandboxId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import { ApiKeyStore } from "../../src/store/api-keys.js";
import { errorAnswer } from "./errors.js";
import { match } from "./routes.js";

/** Options of {@link startGateway}. */
export interface GatewayOptions {
  /** The connection (not closed by `close`). */
  nc: NatsConnection;
  /** TCP port; 0 picks a free one. @default 3000 */
  port?: number;
  /** @default "0.0.0.0" */
  host?: string;
  /** `domain` in sandbox replies (E2B SDKs use it for sandbox hosts when `E2B_SANDBOX_URL` is unset). @default null */
  sandboxDomain?: string | null;
  /**
   * Bound on each API request, ms (retries included; see CorralClient). A
   * caller's own `Corral-Deadline` header, if sooner, bounds it instead.
   * @default 10000 (DEFAULT_REQUEST_DEADLINE_MS)
   */
  requestTimeoutMs?: number;
}

/** A running gateway. */
export interface GatewayHandle {
  readonly port: number;
  close(): Promise<void>;
}

/** Largest request body accepted, bytes. */
const MAX_BODY_BYTES = 1024 * 1024;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** One value of a request header (the first, if sent twice). */
function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new InvalidArgumentError(`request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  if (size === 0) return undefined;
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new InvalidArgumentError("request body is not JSON");
  }
}

/** Starts a gateway; resolves once it listens. */
export async function startGateway(options: GatewayOptions): Promise<GatewayHandle> {
  const log = logger("gateway");
  const keys = await ApiKeyStore.open(options.nc);
  const secret = await keys.envdSecret();
  const clients = new Map<string, CorralClient>();
  const clientOf = (tenant: string) => {
    let c = clients.get(tenant);
    if (!c) clients.set(tenant, (c = new CorralClient(options.nc, { tenant, timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_DEADLINE_MS })));
    return c;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/health" && req.method === "GET") return send(res, 200, { status: "ok" });
    const tenant = await keys.tenantOf(headerOf(req, "x-api-key"));
    if (tenant === null) return send(res, 401, { code: 401, message: "Invalid API key: send X-API-Key with a key from `corral keys create`" });
    const route = match(req.method ?? "GET", url.pathname);
    if (route === null) return send(res, 404, { code: 404, message: `${url.pathname} is not an E2B route Corral serves (see docs/e2b.md)` });
    if (route === "method") return send(res, 405, { code: 405, message: `${req.method} is not allowed on ${url.pathname}` });
    // An id that cannot be a Corral sandbox names no sandbox: 404, as E2B answers for unknown ids.
    if (route.id && !isSandboxId(route.id)) throw new NotFoundError(`sandbox ${route.id} not found`);
    const body = await readJson(req);
    // The caller's deadline (the same header as on NATS): the requests made for it end by then, retries included.
    const callerDeadline = parseDeadline(headerOf(req, DEADLINE_HEADER));
    const client = callerDeadline === null ? clientOf(tenant) : clientOf(tenant).bounded(callerDeadline);
    const answer = await route.handler({ client, secret, domain: options.sandboxDomain ?? null, body, query: url.searchParams, id: route.id });
    send(res, answer.status, answer.body, answer.headers);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const errorId = randomUUID();
      const answer = errorAnswer(err, errorId);
      if (answer.status === 500) log.error({ err, errorId, method: req.method, path: req.url?.split("?")[0] }, "request failed");
      if (!res.headersSent) send(res, answer.status, answer.body, answer.headers);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 3000, options.host ?? "0.0.0.0", () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log.info({ port }, "gateway ready");
  return {
    port,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      await closed;
    },
  };
}
