/**
 * Corral's errors as E2B's (DESIGN.md, "E2B compatibility"): body
 * `{"code": <status>, "message"}` (the SDK reads `code` for its 404/409 cases),
 * a killed or unknown sandbox is 404, capacity is 429 with an integer
 * `Retry-After` (the SDK retries only with one).
 */
import { CorralError, type ErrorCode } from "../../src/errors.js";

/** Seconds a client is told to wait before retrying a create refused for capacity. */
export const CAPACITY_RETRY_AFTER_S = 2;

const STATUS: Record<ErrorCode, number> = {
  invalid_argument: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  // A killing/killed sandbox does not exist for E2B.
  gone: 404,
  internal: 500,
  capacity_exhausted: 429,
  unavailable: 503,
};

/** An answer: status, body, extra headers. */
export interface ErrorAnswer {
  status: number;
  body: { code: number; message: string };
  headers: Record<string, string>;
}

/** The E2B answer for an error (anything not a CorralError is a 500 with `errorId`). */
export function errorAnswer(err: unknown, errorId: string): ErrorAnswer {
  if (err instanceof CorralError) {
    const status = STATUS[err.code];
    const headers: Record<string, string> = status === 429 ? { "Retry-After": String(CAPACITY_RETRY_AFTER_S) } : {};
    return { status, body: { code: status, message: err.message }, headers };
  }
  return { status: 500, body: { code: 500, message: `internal error (id ${errorId})` }, headers: {} };
}
