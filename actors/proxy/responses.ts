/**
 * The proxy's own answers: uniform JSON `{"code": <status>, "message": "..."}`
 * (DESIGN.md, "Exact behaviours"). Messages are written by the proxy, never
 * copied from a socket error, so no internal address can leak.
 */
import { STATUS_CODES } from "node:http";

/** The body of an error answer. */
export function errorBody(status: number, message: string): string {
  return JSON.stringify({ code: status, message });
}

/**
 * A complete JSON response (head and body) as one string, ready to write on
 * the client socket.
 *
 * @param close add `Connection: close` (the connection is closed after it)
 * @param keepAlive a header pair to announce the idle timeout (`["Keep-Alive", "timeout=60"]`) when not closing
 */
export function jsonResponse(status: number, body: string, close: boolean, retryAfterS?: number, keepAlive?: readonly string[]): string {
  const retry = retryAfterS === undefined ? "" : `Retry-After: ${retryAfterS}\r\n`;
  const conn = close ? "Connection: close\r\n" : keepAlive === undefined ? "" : `${keepAlive[0]!}: ${keepAlive[1]!}\r\n`;
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ""}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\n${retry}${conn}\r\n${body}`;
}

/** An error response with the uniform body (see `jsonResponse`). */
export function errorResponse(status: number, message: string, close: boolean, retryAfterS?: number, keepAlive?: readonly string[]): string {
  return jsonResponse(status, errorBody(status, message), close, retryAfterS, keepAlive);
}
