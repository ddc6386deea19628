/**
 * Waiting for NATS to be ready, for processes that must not exit because it
 * is not there yet (DESIGN.md, "Cluster": every process waits at start with
 * backoff and a log line). Used by `connection.ts` and the server commands.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { UnavailableError } from "../errors.js";
import type { Logger } from "../log.js";

/** Retry delays: exponential from `initialMs`, capped at `maxMs`, with up to 20% jitter. */
export interface Backoff {
  /** @default 250 */
  initialMs?: number;
  /** @default 5000 */
  maxMs?: number;
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The delay before retry `attempt` (1-based); jitter keeps restarted processes from retrying in lockstep. */
export function backoffFrom(b: Backoff = {}): (attempt: number) => number {
  const first = b.initialMs ?? 250;
  const max = b.maxMs ?? 5_000;
  return (attempt) => {
    const base = Math.min(max, first * 2 ** Math.min(attempt - 1, 20));
    return Math.round(base * (0.8 + Math.random() * 0.2));
  };
}

/**
 * Resolves once JetStream answers an account-info request (on a cluster, once
 * it has a meta leader), logging each failed attempt.
 */
export async function waitForJetStream(nc: NatsConnection, log: Logger, backoff: (attempt: number) => number = backoffFrom()): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      const jsm = await jetstreamManager(nc, { timeout: 5_000 });
      await jsm.getAccountInfo();
      if (attempt > 1) log.info({ attempts: attempt }, "JetStream is available");
      return;
    } catch (err) {
      const retryInMs = backoff(attempt);
      log.warn({ attempt, retryInMs, err: (err as Error).message }, "waiting for JetStream");
      await sleep(retryInMs);
    }
  }
}

/**
 * Retries `fn` while it fails with a retryable `unavailable` error (a store
 * that is not ready: a stream without a leader, too few servers for the
 * replicas asked), with backoff and a log line per attempt. Any other error
 * is thrown at once.
 */
export async function untilAvailable<T>(what: string, fn: () => Promise<T>, log: Logger, backoffOptions: Backoff = {}): Promise<T> {
  const backoff = backoffFrom(backoffOptions);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!(err instanceof UnavailableError)) throw err;
      const retryInMs = backoff(attempt);
      log.warn({ attempt, retryInMs, err: err.message }, `waiting for the store: ${what}`);
      await sleep(retryInMs);
    }
  }
}
