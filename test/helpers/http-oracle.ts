/**
 * The differential oracle for the proxy's HTTP/1.1 parser: the same bytes go
 * through Corral's request parsing (`corralReads`, the steps a
 * `ClientConnection` takes: skip empty lines, `scanHead`, `parseRequestHead`,
 * `BodyFramer`) and through llhttp as `node:http` runs it (`NodeOracle`: a
 * `node:http` server on loopback, default strict parser, one connection per
 * input, written then half-closed). Each side reports the requests it read
 * (method, target, decoded body) and whether it refused the rest.
 */
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { BodyFramer } from "../../actors/proxy/body-framing.js";
import { Framing, HttpParseError, parseRequestHead, scanHead } from "../../actors/proxy/http1-parser.js";

/** One request as a parser read it. */
export interface ReadRequest {
  method: string;
  url: string;
  /** The decoded body (latin1). */
  body: string;
  /** The connection ends after it (HTTP/1.0, `Connection: close`, an upgrade): later bytes are not parsed. */
  last: boolean;
}

/** What a parser made of one input. */
export interface Reading {
  requests: ReadRequest[];
  /** Why the rest was refused (or was incomplete at EOF), or null when every byte was read. */
  error: string | null;
}

/** Decodes a chunked body that `BodyFramer` already validated. */
function dechunk(raw: Buffer): string {
  let out = "";
  let i = 0;
  for (;;) {
    const lineEnd = raw.indexOf("\r\n", i, "latin1");
    const size = parseInt(raw.toString("latin1", i, lineEnd).split(";")[0]!, 16);
    if (size === 0) return out;
    out += raw.toString("latin1", lineEnd + 2, lineEnd + 2 + size);
    i = lineEnd + 2 + size + 2;
  }
}

/** Corral's reading of `bytes`, received whole and followed by EOF. */
export function corralReads(bytes: Buffer): Reading {
  const requests: ReadRequest[] = [];
  const framer = new BodyFramer();
  let buf = bytes;
  try {
    for (;;) {
      let start = 0;
      while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
      buf = buf.subarray(start);
      if (buf.length === 0) return { requests, error: null };
      const end = scanHead(buf, 0, true);
      if (end === -1) return { requests, error: "incomplete head at EOF" };
      const req = parseRequestHead(buf, 0, end);
      framer.reset(req.framing, req.contentLength, 400);
      const next = framer.advance(buf, end + 4);
      if (!framer.done) return { requests, error: "incomplete body at EOF" };
      const raw = buf.subarray(end + 4, next);
      const last = req.close || req.upgrade;
      requests.push({ method: req.method, url: req.url, body: req.framing === Framing.Chunked ? dechunk(raw) : raw.toString("latin1"), last });
      if (last) return { requests, error: null };
      buf = buf.subarray(next);
    }
  } catch (err) {
    if (err instanceof HttpParseError) return { requests, error: err.message };
    throw err;
  }
}

interface Entry extends ReadRequest {
  complete: boolean;
  error: string | null;
}

function hasToken(value: string | undefined, token: string): boolean {
  return value !== undefined && value.split(",").some((t) => t.trim().toLowerCase() === token);
}

/** A `node:http` server that records what llhttp parsed from each input. */
export class NodeOracle {
  readonly #server: http.Server;
  #entries: Entry[] | null = null;
  #error: string | null = null;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(): Promise<NodeOracle> {
    // The proxy's head limit; Host is checked here (node's own check answers without an event).
    const server = http.createServer({ maxHeaderSize: 64 * 1024, requireHostHeader: false });
    const oracle = new NodeOracle(server);
    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      const entries = oracle.#entries;
      if (entries === null) return void res.end();
      if (req.httpVersion === "1.1" && req.headers.host === undefined) {
        entries.push({ method: req.method!, url: req.url!, body: "", last: true, complete: true, error: "missing Host" });
        return void res.end();
      }
      // An upgrade (Connection: upgrade and Upgrade) ends what is parsed as HTTP, as in Corral.
      const upgrade = hasToken(req.headers.connection, "upgrade") && req.headers.upgrade !== undefined;
      const last = req.httpVersion === "1.0" || hasToken(req.headers.connection, "close") || upgrade;
      const entry: Entry = { method: req.method!, url: req.url!, body: "", last, complete: false, error: null };
      entries.push(entry);
      req.setEncoding("latin1");
      req.on("data", (c: string) => (entry.body += c));
      req.on("end", () => {
        entry.complete = true;
        res.end();
      });
    };
    server.on("request", onRequest);
    server.on("checkExpectation", onRequest);
    server.on("checkContinue", onRequest);
    server.on("connect", (req: http.IncomingMessage, socket: net.Socket) => {
      oracle.#entries?.push({ method: req.method!, url: req.url!, body: "", last: true, complete: true, error: null });
      socket.destroy();
    });
    server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
      if (oracle.#error === null) oracle.#error = err.code ?? err.message;
      // Later, so that the body events of requests parsed before the error are delivered.
      setTimeout(() => socket.destroy(), 5);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return oracle;
  }

  /** llhttp's reading of `bytes` (one at a time: inputs are not run concurrently). */
  async reads(bytes: Buffer): Promise<Reading> {
    const entries: Entry[] = [];
    this.#entries = entries;
    this.#error = null;
    const port = (this.#server.address() as AddressInfo).port;
    await new Promise<void>((resolve) => {
      const socket = net.connect(port, "127.0.0.1", () => socket.end(bytes));
      socket.on("data", () => {});
      socket.on("error", () => {});
      socket.on("close", () => resolve());
    });
    await new Promise((r) => setImmediate(r));
    this.#entries = null;
    const requests: ReadRequest[] = [];
    let error: string | null = this.#error as string | null;
    for (const e of entries) {
      if (e.error !== null) {
        error = e.error;
        break;
      }
      // A request whose body never ended was cut by the error (or EOF).
      if (!e.complete) {
        error ??= "incomplete";
        break;
      }
      requests.push({ method: e.method, url: e.url, body: e.body, last: e.last });
    }
    return { requests, error };
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

/** The requests up to and including the first `last` one (what a proxy connection would carry). */
export function truncateAtLast(r: Reading): Reading {
  const i = r.requests.findIndex((q) => q.last);
  return i === -1 ? r : { requests: r.requests.slice(0, i + 1), error: null };
}
