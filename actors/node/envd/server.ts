/**
 * The node's envd endpoint (DESIGN.md, "E2B compatibility": envd): an HTTP
 * server answering, for every sandbox this node hosts, the in-sandbox API
 * E2B's SDKs call on port 49983. Requests name the sandbox in the path:
 * `/envd/<sandboxId>/<envd path>`; the proxy maps port 49983 of a sandbox to
 * that prefix on its owner's envd address (published in the node record).
 *
 * Access: `X-Access-Token` must be the sandbox's envd token (derived, see
 * `src/envd-token.ts`); `GET /health` needs none (as in E2B). A sandbox this
 * node does not host, or that is not `running`, answers 502, which the SDK's
 * `isRunning` reads as false.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { DriverError } from "../../../src/drivers/errors.js";
import type { ExecProcess, SandboxExecutor } from "../../../src/drivers/exec.js";
import { envdTokenMatches } from "../../../src/envd-token.js";
import { isSandboxId, type SandboxId } from "../../../src/ids.js";
import type { Logger } from "../../../src/log.js";
import type { StoredSandbox } from "../../../src/schema/record.js";
import { endStream, httpStatusOf, type ConnectCode } from "../../../src/connect-frames.js";
import { readFile, sendError, writeFiles } from "./files.js";
import { SendSignalRequestSchema, execRequestOf, parseStart, streamProcess } from "./process-rpc.js";


/** What the server needs from its node. */
export interface EnvdServerDeps {
  /** The latest record of a sandbox hosted by this node, or null. Must not block. */
  lookup: (id: SandboxId) => StoredSandbox | null;
  executor: SandboxExecutor;
  /** The cluster's envd secret (cached by the caller). */
  secret: () => Promise<Uint8Array>;
  log: Logger;
  /** Largest file up or down, in bytes. @default 104857600 (100 MiB) */
  maxFileBytes?: number;
  /** Largest Connect request body, in bytes. @default 1048576 */
  maxRequestBytes?: number;
}

/** Options of {@link EnvdServer.listen}. */
export interface EnvdListenOptions {
  /** @default "0.0.0.0" */
  host?: string;
  /** 0 picks a free port. @default 0 */
  port?: number;
}

const PREFIX = "/envd/";

/** Running commands by sandbox and pid, for SendSignal. */
type Running = Map<string, ExecProcess>;

function connectError(res: ServerResponse, code: ConnectCode, message: string): void {
  const body = JSON.stringify({ code, message });
  res.writeHead(httpStatusOf(code), { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** The user of an envd request: `Authorization: Basic base64(user:)`, as the SDK sends it. */
export function userOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const fromQuery = query.get("username");
  if (fromQuery) return fromQuery;
  const auth = req.headers.authorization;
  if (!auth?.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(auth.slice(6), "base64").toString("utf8");
  const user = decoded.split(":")[0];
  return user ? user : undefined;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** The envd endpoint of one node. */
export class EnvdServer {
  readonly #deps: EnvdServerDeps;
  readonly #server: http.Server;
  readonly #running: Running = new Map();
  readonly #maxFileBytes: number;
  readonly #maxRequestBytes: number;
  #nextPid = 0;

  constructor(deps: EnvdServerDeps) {
    this.#deps = deps;
    this.#maxFileBytes = deps.maxFileBytes ?? 100 * 1024 * 1024;
    this.#maxRequestBytes = deps.maxRequestBytes ?? 1024 * 1024;
    this.#server = http.createServer((req, res) => {
      this.#handle(req, res).catch((err: unknown) => {
        deps.log.error({ err }, "envd request failed");
        if (!res.headersSent) sendError(res, 500, "internal error");
        else res.destroy();
      });
    });
    // Commands may run long with no output between keepalives.
    this.#server.requestTimeout = 0;
  }

  /** Listens; resolves with the port. */
  async listen(options: EnvdListenOptions = {}): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(options.port ?? 0, options.host ?? "0.0.0.0", () => {
        this.#server.off("error", reject);
        resolve();
      });
    });
    return (this.#server.address() as AddressInfo).port;
  }

  /** Stops listening and cuts open streams (their commands are killed). */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://envd");
    if (!url.pathname.startsWith(PREFIX)) return sendError(res, 404, "not an envd path: /envd/<sandboxId>/...");
    const rest = url.pathname.slice(PREFIX.length);
    const slash = rest.indexOf("/");
    const id = slash === -1 ? rest : rest.slice(0, slash);
    const route = slash === -1 ? "/" : rest.slice(slash);
    if (!isSandboxId(id)) return sendError(res, 404, "invalid sandbox id");
    const record = this.#deps.lookup(id);
    if (record === null || record.state !== "running" || record.internal.handle === null) return sendError(res, 502, "sandbox is not running");
    const handle = record.internal.handle;

    if (route === "/health" && req.method === "GET") {
      res.writeHead(204);
      res.end();
      return;
    }
    const token = req.headers["x-access-token"];
    const presented = Array.isArray(token) ? token[0] : token;
    if (!envdTokenMatches(await this.#deps.secret(), id, record.createdAt, presented)) {
      if (route.startsWith("/process.")) return connectError(res, "unauthenticated", "missing or invalid X-Access-Token");
      return sendError(res, 401, "missing or invalid X-Access-Token");
    }
    const user = userOf(req, url.searchParams);
    // Every exec'd process sees the sandbox's id, also in a claimed warm member (whose container env names the member).
    const exec = (r: Parameters<SandboxExecutor["exec"]>[1]) => this.#deps.executor.exec(handle, { ...r, env: { ...r.env, CORRAL_SANDBOX_ID: id } });

    try {
      if (route === "/process.Process/Start" && req.method === "POST") return await this.#start(req, res, id, exec, user);
      if (route === "/process.Process/SendSignal" && req.method === "POST") return await this.#signal(req, res, id);
      if (route === "/files" && req.method === "GET") {
        const filePath = url.searchParams.get("path");
        if (!filePath) return sendError(res, 400, "query parameter path is required");
        return await readFile(res, exec, filePath, user, this.#maxFileBytes);
      }
      if (route === "/files" && req.method === "POST") {
        return await writeFiles(req, res, exec, url.searchParams.get("path") ?? undefined, user, this.#maxFileBytes);
      }
    } catch (err) {
      if (err instanceof DriverError) return sendError(res, err.reason === "vanished" ? 502 : 500, err.message);
      throw err;
    }
    if (route.startsWith("/process.") || route.startsWith("/filesystem.")) return connectError(res, "not_found" as ConnectCode, `${route.slice(1)} is not implemented by Corral's envd`);
    return sendError(res, 404, `${req.method} ${route} is not implemented by Corral's envd`);
  }

  async #start(req: IncomingMessage, res: ServerResponse, id: SandboxId, exec: (r: Parameters<SandboxExecutor["exec"]>[1]) => Promise<ExecProcess>, user: string | undefined): Promise<void> {
    const body = await readBody(req, this.#maxRequestBytes);
    if (body === null) return connectError(res, "resource_exhausted", "request is too large");
    let start;
    try {
      start = parseStart(body);
    } catch (err) {
      return connectError(res, "invalid_argument", (err as Error).message);
    }
    let proc: ExecProcess;
    try {
      proc = await exec(execRequestOf(start, user));
    } catch (err) {
      // Streaming calls carry errors in the end-of-stream envelope.
      res.writeHead(200, { "Content-Type": "application/connect+json" });
      const code: ConnectCode = err instanceof DriverError && err.reason === "vanished" ? "unavailable" : "internal";
      res.end(endStream({ code, message: (err as Error).message }));
      return;
    }
    // envd's pids are its own numbers: the engine's may be unknown yet (docker) or reused.
    const pid = ++this.#nextPid;
    const key = `${id}:${pid}`;
    this.#running.set(key, proc);
    const keepaliveS = Number(req.headers["keepalive-ping-interval"]);
    const timeoutMs = Number(req.headers["connect-timeout-ms"]);
    try {
      await streamProcess(req, res, pid, proc, Number.isFinite(keepaliveS) && keepaliveS > 0 ? keepaliveS * 1000 : 0, Number.isFinite(timeoutMs) && timeoutMs > 0 ? timeoutMs : 0);
    } finally {
      if (this.#running.get(key) === proc) this.#running.delete(key);
    }
  }

  async #signal(req: IncomingMessage, res: ServerResponse, id: SandboxId): Promise<void> {
    const body = await readBody(req, this.#maxRequestBytes);
    if (body === null) return connectError(res, "resource_exhausted", "request is too large");
    let parsed;
    try {
      parsed = SendSignalRequestSchema.safeParse(JSON.parse(body.toString("utf8")));
    } catch {
      return connectError(res, "invalid_argument", "request body is not JSON");
    }
    if (!parsed.success) return connectError(res, "invalid_argument", parsed.error.issues[0]?.message ?? "invalid SendSignalRequest");
    const proc = this.#running.get(`${id}:${parsed.data.process.pid}`);
    if (!proc) return connectError(res, "not_found", `process ${parsed.data.process.pid} not found`);
    const sig = parsed.data.signal;
    proc.kill(sig === "SIGNAL_SIGTERM" || sig === 15 ? "SIGTERM" : "SIGKILL");
    res.writeHead(200, { "Content-Type": "application/json" });
    res.end("{}");
  }
}
