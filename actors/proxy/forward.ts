/**
 * Forwarding to a sandbox port over HTTP/1.1: keep-alive connections per
 * upstream (one `http.Agent`), bodies streamed both ways with backpressure
 * (`pipe`, never buffered: a 100 MB body costs a few socket buffers), and
 * WebSocket upgrades spliced socket to socket.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardedFor } from "./headers.js";
import { sendError, writeRawError } from "./responses.js";
import type { Upstream } from "./upstream.js";

/** The keep-alive pool to upstreams. `lifo` reuses the warmest socket and lets idle ones time out. */
export function createUpstreamAgent(): http.Agent {
  return new http.Agent({ keepAlive: true, keepAliveMsecs: 1_000, maxFreeSockets: 1024, scheduling: "lifo" });
}

function forwardedFor(req: http.IncomingMessage): ForwardedFor {
  return { clientIp: req.socket.remoteAddress ?? "unknown", proto: "http" };
}

/** A request without a body can be replayed when a pooled socket turns out to be dead. */
function hasNoBody(req: http.IncomingMessage): boolean {
  return req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
}

/**
 * Forwards `req` to `upstream` at `path` and streams the answer into `res`.
 * An upstream that refuses or fails before answering is a 502 (the message
 * names the sandbox port, never the internal address).
 */
export function forwardHttp(req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream, path: string, sandboxPort: number, agent: http.Agent): void {
  const headers = upstreamRequestHeaders(req.rawHeaders, forwardedFor(req), false);
  const send = (retry: boolean): void => {
    const up = http.request({ host: upstream.host, port: upstream.port, method: req.method, path, headers, agent, setHost: false });
    up.on("response", (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, clientResponseHeaders(upRes.rawHeaders));
      upRes.pipe(res);
      upRes.on("error", () => res.destroy());
    });
    up.on("error", (err: NodeJS.ErrnoException) => {
      // Node's documented keep-alive race: the upstream closed a pooled socket
      // as we reused it. Replay once when nothing of the request was consumed.
      if (retry && up.reusedSocket && err.code === "ECONNRESET" && hasNoBody(req) && !res.headersSent) return send(false);
      if (res.headersSent) return void res.destroy();
      const refused = err.code === "ECONNREFUSED" || err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH";
      sendError(res, 502, refused ? `sandbox port ${sandboxPort} refused the connection` : `sandbox port ${sandboxPort} failed: ${err.code ?? "error"}`);
    });
    // A client that goes away mid-request frees the upstream socket too.
    res.once("close", () => {
      if (!res.writableFinished) up.destroy();
    });
    if (hasNoBody(req)) up.end();
    else req.pipe(up);
  };
  send(true);
}

function statusLine(res: http.IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ""}\r\n`;
}

function rawHeaderBlock(raw: string[]): string {
  let s = "";
  for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return s;
}

/**
 * Forwards a WebSocket (or any `Upgrade`) handshake and, once the upstream
 * switches protocols, splices the two sockets. A non-101 answer is relayed as
 * is and the client connection closed.
 */
export function forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream, path: string, sandboxPort: number): void {
  const headers = upstreamRequestHeaders(req.rawHeaders, forwardedFor(req), true);
  // agent: false: an upgraded socket leaves any pool for good.
  const up = http.request({ host: upstream.host, port: upstream.port, method: req.method, path, headers, agent: false, setHost: false });
  socket.on("error", () => up.destroy());
  up.on("upgrade", (upRes, upSocket, upHead) => {
    socket.write(`${statusLine(upRes)}${rawHeaderBlock(upRes.rawHeaders)}\r\n`);
    if (upHead.length > 0) socket.write(upHead);
    if (head.length > 0) upSocket.write(head);
    upSocket.setNoDelay(true);
    upSocket.on("error", () => socket.destroy());
    socket.on("close", () => upSocket.destroy());
    upSocket.on("close", () => socket.destroy());
    upSocket.pipe(socket);
    socket.pipe(upSocket);
  });
  up.on("response", (upRes) => {
    // The upstream declined the upgrade: relay its answer, then close.
    socket.write(`${statusLine(upRes)}${rawHeaderBlock(clientResponseHeaders(upRes.rawHeaders))}Connection: close\r\n\r\n`);
    upRes.pipe(socket);
  });
  up.on("error", (err: NodeJS.ErrnoException) => {
    const refused = err.code === "ECONNREFUSED" || err.code === "EHOSTUNREACH" || err.code === "ENETUNREACH";
    writeRawError(socket, 502, refused ? `sandbox port ${sandboxPort} refused the connection` : `sandbox port ${sandboxPort} failed: ${err.code ?? "error"}`);
  });
  up.end();
}
