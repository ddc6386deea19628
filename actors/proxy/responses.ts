/**
 * The proxy's own answers: uniform JSON `{"code": <status>, "message": "..."}`
 * (DESIGN.md, "Exact behaviours"). Messages are written by the proxy, never
 * copied from a socket error, so no internal address can leak.
 */
import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

/** The body of an error answer. */
export function errorBody(status: number, message: string): string {
  return JSON.stringify({ code: status, message });
}

/** Answers an HTTP request with the uniform error body. */
export function sendError(res: ServerResponse, status: number, message: string, retryAfterS?: number): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = errorBody(status, message);
  const headers: Record<string, string | number> = { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store" };
  if (retryAfterS !== undefined) headers["Retry-After"] = retryAfterS;
  res.writeHead(status, headers);
  res.end(body);
}

/** Answers a refused upgrade on the raw socket (no `ServerResponse` exists there) and closes it. */
export function writeRawError(socket: Duplex, status: number, message: string, retryAfterS?: number): void {
  if (socket.destroyed || !socket.writable) return;
  const body = errorBody(status, message);
  const retry = retryAfterS === undefined ? "" : `Retry-After: ${retryAfterS}\r\n`;
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n${retry}Connection: close\r\n\r\n${body}`,
  );
}
