/**
 * Fencing (DESIGN.md "Cluster", Fencing and Hung node): a node that has not
 * renewed its lease for `nodeLeaseMs` (NATS unreachable, or the process was
 * stalled) may have had its sandboxes taken as `node_lost` by the live
 * nodes. From that moment it admits no work: it leaves the API queue group
 * and answers its commands `unavailable`. When a lease write is acknowledged
 * again it first lets go of every sandbox it no longer owns (the record is
 * gone, killed, or names another node) and removes their containers
 * (reconciliation logs them `orphaned`), writing nothing to their records,
 * and only then serves again.
 *
 * The check runs on a timer and before every command, so a node waking from
 * a stall is fenced before it acts on anything queued meanwhile.
 */
import type { NodeId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";

/** What the fence needs. */
export interface FenceDeps {
  leaseMs: number;
  log: Logger;
  /** The lease has lapsed: stop admitting work. */
  onLost: () => void;
  /** A lease write was acknowledged after a lapse: fence off what was taken, then serve again. */
  onRegained: () => void;
  now?: () => number;
}

/** Lease-lapse detector of one node. */
export class Fence {
  readonly #deps: FenceDeps;
  /** Null until the first lease write (the node is not serving before it). */
  #lastRenewedAt: number | null = null;
  #lost = false;
  #timer: NodeJS.Timeout | null = null;

  constructor(deps: FenceDeps) {
    this.#deps = deps;
  }

  /** True while the lease is lapsed (until a lease write is acknowledged). */
  get lost(): boolean {
    return this.#lost;
  }

  /** Checks the lease every `intervalMs`. */
  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.check(), intervalMs);
    this.#timer.unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** A lease write stamped `heartbeatAt` was acknowledged. */
  renewed(heartbeatAt: number): void {
    this.#lastRenewedAt = Math.max(this.#lastRenewedAt ?? heartbeatAt, heartbeatAt);
    if (!this.#lost) return;
    this.#lost = false;
    this.#deps.log.warn("lease renewed after a lapse: fencing off sandboxes taken meanwhile, then serving again");
    this.#deps.onRegained();
  }

  /** True (and fences, once) when the last acknowledged renewal is older than the lease. */
  check(): boolean {
    if (this.#lastRenewedAt === null) return false;
    const sinceMs = this.#now() - this.#lastRenewedAt;
    if (!this.#lost && sinceMs > this.#deps.leaseMs) {
      this.#lost = true;
      this.#deps.log.warn({ sinceMs, leaseMs: this.#deps.leaseMs }, "lease lapsed: fenced (admitting no work, left the API queue group)");
      this.#deps.onLost();
    }
    return this.#lost;
  }

  #now(): number {
    return (this.#deps.now ?? Date.now)();
  }
}

/**
 * Whether this node still owns the sandbox it hosts as `hosted`, given the
 * record in the store now: absent, on another node, or killed while this
 * node's machine is not, means it was taken (`node_lost`, or a new
 * incarnation elsewhere).
 */
export function stillOwned(nodeId: NodeId, hosted: StoredSandbox | null | undefined, stored: StoredSandbox | null): boolean {
  if (stored === null || stored.nodeId !== nodeId) return false;
  if (!hosted) return true;
  return !(stored.state === "killed" && hosted.state !== "killed") && stored.internal.incarnation === hosted.internal.incarnation;
}
