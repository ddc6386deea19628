/**
 * The request deadline every API request carries (DESIGN.md "Cluster",
 * Hung node): header `Corral-Deadline: <ms since epoch>`, after which the
 * caller has given up. Built and read only here.
 *
 * - The client sets it once per logical request; its retries keep the same
 *   deadline, so a retried request never outlives its caller.
 * - The API service runs each request inside {@link withDeadline}, so the
 *   commands it forwards to a node carry the same deadline (and wait no
 *   longer than it) without threading it through every handler.
 * - The E2B gateway takes the same header from an HTTP caller (the sooner of
 *   it and the gateway's own bound applies) and passes it on.
 * - Whoever receives a request past its deadline drops it before acting:
 *   a node that wakes from a stall executes nothing its caller abandoned.
 *   A node checks again when a command's turn comes in its sandbox's
 *   mailbox ({@link throwIfDeadlinePassed}): a command queued behind slower
 *   ones (a kill, a pause) may reach its turn after its caller has gone.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { Match, headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { UnavailableError } from "./errors.js";

/** Header name of the deadline. */
export const DEADLINE_HEADER = "Corral-Deadline";

/** Default bound of one API request (DESIGN.md: 10 s). */
export const DEFAULT_REQUEST_DEADLINE_MS = 10_000;

const current = new AsyncLocalStorage<number>();

/** Sets the deadline header on `h` (created when absent); returns the headers. */
export function setDeadline(deadlineAt: number, h: MsgHdrs = natsHeaders()): MsgHdrs {
  h.set(DEADLINE_HEADER, String(Math.floor(deadlineAt)));
  return h;
}

/** The deadline a message carries, or null when it carries none (or an unreadable one). */
export function readDeadline(h: MsgHdrs | undefined): number | null {
  return parseDeadline(h?.get(DEADLINE_HEADER, Match.IgnoreCase));
}

/** A header value (ms since the epoch, digits only) as a deadline, or null when absent or unreadable (the gateway reads HTTP's with it). */
export function parseDeadline(raw: string | null | undefined): number | null {
  if (!raw || !/^\d{1,15}$/.test(raw)) return null;
  return Number(raw);
}

/** True when `deadlineAt` is set and has passed: the caller has gone, the work must be dropped. */
export function isExpired(deadlineAt: number | null, now = Date.now()): boolean {
  return deadlineAt !== null && now >= deadlineAt;
}

/** Runs `fn` with `deadlineAt` as the deadline of everything it forwards (see {@link currentDeadline}). */
export function withDeadline<T>(deadlineAt: number | null, fn: () => T): T {
  return deadlineAt === null ? fn() : current.run(deadlineAt, fn);
}

/** The deadline of the request being served, if any. */
export function currentDeadline(): number | null {
  return current.getStore() ?? null;
}

/**
 * The wait of a forwarded request: at most `timeoutMs`, and no longer than
 * the current request's deadline (at least 1 ms, so an expired one fails fast).
 */
export function boundedTimeout(timeoutMs: number, now = Date.now()): number {
  const deadline = currentDeadline();
  return deadline === null ? timeoutMs : Math.max(1, Math.min(timeoutMs, deadline - now));
}

/** A command whose request deadline passed before it acted: dropped (its caller has gone), never executed late. */
export class DeadlinePassedError extends UnavailableError {}

/**
 * Throws {@link DeadlinePassedError} when `deadline` (by default the
 * deadline of the request being served) has passed at `now`. Called where a
 * command arrives and where queued work is about to act (the start of a
 * command's turn in a sandbox's mailbox), with the `now` that work will use,
 * so that nothing it writes is stamped after its caller gave up.
 */
export function throwIfDeadlinePassed(what: string, now = Date.now(), deadline = currentDeadline()): void {
  if (isExpired(deadline, now)) throw new DeadlinePassedError(`${what}: dropped, its request's deadline passed ${now - deadline!} ms before its turn`);
}
