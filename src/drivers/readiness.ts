/**
 * Readiness: a tight TCP connect-retry loop. A refused connect on a bridge or
 * loopback address fails in well under a millisecond, so retrying every
 * `retryDelayMs` finds the listener within a few ms of it binding, without the
 * cost of HTTP. The loop is bounded by an absolute deadline and can ask the
 * caller, at a low rate, whether waiting still makes sense (the container or
 * process may have exited, in which case waiting out the deadline would only
 * delay the error).
 */
import net from "node:net";
import { DriverError, type DriverOp } from "./errors.js";

/** Options of {@link waitForTcp}. */
export interface WaitForTcpOptions {
  /** Operation reported in the error (start, resume). */
  op: DriverOp;
  /** Total budget; the error message names it. */
  timeoutMs: number;
  /** Pause between refused attempts. @default 2 */
  retryDelayMs?: number;
  /**
   * Called every `checkEveryMs` while not yet ready; throws (a DriverError) to
   * abort, e.g. when the main process has exited.
   */
  check?: () => Promise<void> | void;
  /** @default 200 */
  checkEveryMs?: number;
}

/** One connect attempt; resolves true when accepted, false on refusal/timeout. */
function tryConnect(host: string, port: number, attemptTimeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.removeAllListeners();
      // A late error after destroy must not become an uncaught exception.
      socket.on("error", () => {});
      socket.destroy();
      resolve(ok);
    };
    // An address that is not routed yet does not refuse, it hangs: bound each attempt.
    const timer = setTimeout(() => done(false), attemptTimeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Resolves once `host:port` accepts a TCP connection.
 * @throws DriverError `timeout` ("port 8080 not ready within 30000 ms"), or whatever `check` throws.
 */
export async function waitForTcp(host: string, port: number, options: WaitForTcpOptions): Promise<void> {
  const { op, timeoutMs, retryDelayMs = 2, check, checkEveryMs = 200 } = options;
  const startedAt = Date.now();
  const deadlineAt = startedAt + timeoutMs;
  let nextCheckAt = startedAt + checkEveryMs;
  for (;;) {
    const now = Date.now();
    if (await tryConnect(host, port, Math.max(1, Math.min(1_000, deadlineAt - now)))) return;
    const after = Date.now();
    if (after >= deadlineAt) throw new DriverError(op, "timeout", `port ${port} not ready within ${timeoutMs} ms`);
    if (check && after >= nextCheckAt) {
      await check();
      nextCheckAt = Date.now() + checkEveryMs;
    }
    await delay(retryDelayMs);
  }
}
