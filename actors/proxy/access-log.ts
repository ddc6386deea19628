/**
 * The access log: one pino line per answered request with sandboxId, port,
 * method, status, durationMs and bytes (written to the client). Never the
 * query string (it may carry secrets), never a header (tokens).
 */
import type { BufferedLogger } from "../../src/log.js";

/** One line's fields. Kept flat and small: this runs on every request. */
export interface AccessEntry {
  sandboxId: string | null;
  port: number | null;
  method: string | undefined;
  /** The request path without its query string. */
  path: string;
  status: number;
  durationMs: number;
  bytes: number;
}

/** The path without `?query` (and without `#fragment`, which clients should not send). */
export function pathWithoutQuery(url: string): string {
  const q = url.indexOf("?");
  const h = url.indexOf("#");
  const end = q === -1 ? h : h === -1 ? q : Math.min(q, h);
  return end === -1 ? url : url.slice(0, end);
}

const NEEDS_ESCAPE = /["\\\x00-\x1f]/;

/** A JSON string literal; plain text (the usual path, id, method) skips JSON.stringify. */
function jsonString(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}

/**
 * Writes access lines at `info` through a buffered logger (lines reach stderr
 * within a second, in batches); a no-op when disabled.
 */
export class AccessLog {
  constructor(
    private readonly out: BufferedLogger,
    readonly enabled: boolean,
  ) {}

  /** Logs one request (skipped cheaply when disabled or below the logger's level). */
  write(entry: AccessEntry): void {
    if (!this.enabled) return;
    // Serialized here, not by pino: the shape is fixed, so pino's generic serialization is not needed.
    const sandboxId = entry.sandboxId === null ? "null" : jsonString(entry.sandboxId);
    const method = entry.method === undefined ? "" : `"method":${jsonString(entry.method)},`;
    this.out.infoLine(
      `"sandboxId":${sandboxId},"port":${entry.port},${method}"path":${jsonString(entry.path)},"status":${entry.status},"durationMs":${entry.durationMs},"bytes":${entry.bytes}`,
      "access",
    );
  }

  /** Writes the buffered lines now (on close). */
  flush(): void {
    this.out.flush();
  }
}
