/** Small helpers of the UI's HTTP server: JSON replies, bounded JSON bodies, contract error replies. */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { InvalidArgumentError, toCorralError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";

/** Request bodies are tiny (`{timeoutMs}`); anything bigger is refused. */
const MAX_BODY_BYTES = 16 * 1024;

/** Writes `body` as JSON with `status`; nothing is cached (every answer is live state). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const bytes = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": bytes.length, "Cache-Control": "no-store" });
  res.end(bytes);
}

/**
 * Replies `{error: {code, message}}` with the contract's status for `err`.
 * Unknown errors become `internal` with an id that names their log line.
 */
export function sendError(res: ServerResponse, err: unknown, log: Logger): void {
  const errorId = randomUUID();
  const corral = toCorralError(err, errorId);
  if (corral.code === "internal") log.error({ errorId, err }, "ui: internal error");
  if (!res.headersSent) sendJson(res, corral.status, corral.toJSON());
  else res.destroy();
}

/** Reads a JSON object body (empty body = `{}`); anything else is `invalid_argument`. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new InvalidArgumentError(`request body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidArgumentError("request body is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new InvalidArgumentError("request body must be a JSON object");
  return value as Record<string, unknown>;
}
