/**
 * WebSocket (any `Upgrade`) forwarding: the handshake goes to the sandbox
 * over a fresh connection (an upgraded socket leaves any pool for good) and,
 * once the upstream switches protocols, the two sockets are spliced with
 * backpressure both ways. A non-101 answer is relayed as is and the client
 * connection closed.
 */
import http from "node:http";
import type { Duplex } from "node:stream";
import { clientResponseHeaders, upstreamRequestHeaders } from "./headers.js";
import { forwardedFor, upstreamFailure } from "./forward.js";
import { writeRawError } from "./responses.js";
import type { Upstream } from "./upstream.js";

function statusLine(res: http.IncomingMessage): string {
  return `HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ""}\r\n`;
}

function rawHeaderBlock(raw: string[]): string {
  let s = "";
  for (let i = 0; i < raw.length; i += 2) s += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return s;
}

/** Forwards an upgrade handshake from `socket` to `upstream` at `path` and splices the connections. */
export function forwardUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer, upstream: Upstream, path: string, sandboxPort: number): void {
  const headers = upstreamRequestHeaders(req.rawHeaders, forwardedFor(req), true);
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
  up.on("error", (err: NodeJS.ErrnoException) => writeRawError(socket, 502, upstreamFailure(err, sandboxPort)));
  up.end();
}
