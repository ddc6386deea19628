/**
 * Driver failures. Every engine error (dockerode, the kernel for the process
 * driver) is mapped here once; callers branch on `reason`, never on message
 * text. Docker reports state errors as text with inconsistent HTTP statuses
 * (`is not paused` is a 500 on Engine 20.10, `is already paused` a 409), so the
 * text match lives in this one function and nowhere else.
 */
import { CorralError } from "../errors.js";

/** The driver operation that failed (recorded in a sandbox's `error.op`). */
export type DriverOp = "start" | "pause" | "resume" | "remove" | "inspect" | "list" | "exec";

/**
 * Why an operation failed, as data:
 * - `vanished`: the container/process no longer exists (Docker 404 "no such container").
 * - `image_missing`: the template's image is not on this node.
 * - `name_conflict`: the container name is taken (a crashed earlier attempt).
 * - `already`: the desired state already holds (already paused/stopped/started, removal in progress).
 * - `not_paused` / `not_running`: a state error the caller may resolve by inspecting.
 * - `exited`: the sandbox's main process ended before it became ready.
 * - `timeout`: not ready within the template's `readyTimeoutMs`.
 * - `unavailable`: the engine did not answer (socket refused/missing, 5xx).
 * - `engine`: any other engine refusal (bad limits, invalid config, ...).
 */
export type DriverFailure =
  | "vanished"
  | "image_missing"
  | "name_conflict"
  | "already"
  | "not_paused"
  | "not_running"
  | "exited"
  | "timeout"
  | "unavailable"
  | "engine";

/** Reasons for which retrying the same operation cannot help. */
const PERMANENT: ReadonlySet<DriverFailure> = new Set<DriverFailure>(["vanished", "image_missing", "exited"]);

/**
 * A driver operation failed. Code `unavailable` (the contract's answer to a
 * failed create); `retryable` is false only when a retry cannot help
 * (`vanished`, `image_missing`, `exited`).
 */
export class DriverError extends CorralError {
  /** The operation, e.g. "pause". */
  readonly op: DriverOp;
  /** Classified cause; see {@link DriverFailure}. */
  readonly reason: DriverFailure;
  /** The engine's own message (Docker's `message`, the errno text), unprefixed. */
  readonly engineMessage: string;

  constructor(op: DriverOp, reason: DriverFailure, engineMessage: string, options: { cause?: unknown } = {}) {
    super("unavailable", `${op} failed: ${engineMessage}`, { cause: options.cause, retryable: !PERMANENT.has(reason) });
    this.op = op;
    this.reason = reason;
    this.engineMessage = engineMessage;
  }

  /** True when the container/process is gone (the node treats it as `container_exited`). */
  get vanished(): boolean {
    return this.reason === "vanished";
  }
}

/** True when `err` is a DriverError saying the container/process is gone. */
export function isVanished(err: unknown): boolean {
  return err instanceof DriverError && err.vanished;
}

interface DockerishError {
  statusCode?: number;
  json?: unknown;
  code?: string;
  message?: string;
}

/** Docker puts its message in the JSON body; dockerode prefixes it with "(HTTP code N) ...". */
function engineMessageOf(err: DockerishError): string {
  const json = err.json as { message?: unknown } | null | undefined;
  if (json && typeof json === "object" && typeof json.message === "string" && json.message) return json.message;
  return err.message ?? String(err);
}

/** Shortens Docker's 64-hex container ids in messages to the 12 characters `docker ps` shows. */
function shortenIds(message: string): string {
  return message.replace(/\b([0-9a-f]{12})[0-9a-f]{52}\b/g, "$1");
}

const SOCKET_ERRNOS = new Set(["ECONNREFUSED", "ENOENT", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EACCES"]);

/** Classifies a dockerode/engine error. Exported for unit tests and the event watcher. */
export function classifyDockerError(err: unknown): { reason: DriverFailure; message: string } {
  if (err instanceof DriverError) return { reason: err.reason, message: err.engineMessage };
  const e = (err ?? {}) as DockerishError;
  if (e.code && SOCKET_ERRNOS.has(e.code) && e.statusCode === undefined) {
    return { reason: "unavailable", message: `docker engine unavailable: ${e.message ?? e.code}` };
  }
  const message = shortenIds(engineMessageOf(e)).trim();
  const status = e.statusCode;
  if (status === 304) {
    // dockerode: "container already started" / "container already stopped"; the body is empty.
    return { reason: "already", message: e.message?.includes("started") ? "container already started" : "container already stopped" };
  }
  if (/no such image/i.test(message)) {
    const image = /no such image:\s*(\S+)/i.exec(message)?.[1];
    return { reason: "image_missing", message: image ? `image ${image} not found` : message };
  }
  if (status === 404 || /no such container/i.test(message)) return { reason: "vanished", message: message || "no such container" };
  if (/is already paused|already in progress/i.test(message)) return { reason: "already", message };
  if (/is not paused/i.test(message)) return { reason: "not_paused", message };
  if (/is not running|is restarting/i.test(message)) return { reason: "not_running", message };
  if (status === 409 && /already in use/i.test(message)) return { reason: "name_conflict", message };
  if (status === undefined || status >= 500) return { reason: "unavailable", message: message || "docker engine error" };
  return { reason: "engine", message };
}

/**
 * THE mapping of dockerode errors to DriverError (STYLE.md item 2). Idempotency
 * is decided by the caller from `reason` (`already`, `vanished`, ...).
 */
export function mapDockerError(op: DriverOp, err: unknown): DriverError {
  if (err instanceof DriverError) return err;
  const { reason, message } = classifyDockerError(err);
  return new DriverError(op, reason, message, { cause: err });
}
