/**
 * Sandboxes of lost nodes. A node whose lease has been gone for
 * `nodeLostGraceMs` will not come back to its sandboxes in time: every live
 * node sweeps, on one low-frequency timer (not per sandbox), and marks such
 * sandboxes `killed` / `node_lost`. `store.mutate` re-checks each record, so
 * with many live nodes sweeping, each sandbox is marked once. The record
 * keeps the lost node's id: if that node returns, its reconciliation finds
 * no live record for its containers and removes them (`orphaned`).
 *
 * Killed tombstones of nodes that are gone are deleted by the sweep too
 * (their owner is not there to run the tombstone timer).
 *
 * Grace is measured from when this node first saw the lease missing, so a
 * node that restarts within the grace re-adopts its sandboxes untouched.
 *
 * Cost while idle is O(nodes), not O(sandboxes): each tick reads only the
 * node registry. The records are scanned when there is something to do: on
 * the first tick (nodes that died before this one started), when a node seen
 * live before is missing, when a grace or a lost node's tombstone falls due,
 * and every `FULL_SCAN_MS` as a safety net (a node that lived and died
 * between two ticks).
 */
import type { CorralConfig } from "../../src/config.js";
import type { NodeId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { NodeRegistry } from "../../src/store/node-registry.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { toKilled } from "../../machines/sandbox/index.js";

/** What the sweep needs. */
export interface LostNodeDeps {
  nodeId: NodeId;
  store: Pick<SandboxStore, "scan" | "mutate" | "deleteIfRevision">;
  registry: Pick<NodeRegistry, "list">;
  config: Pick<CorralConfig, "nodeLostGraceMs" | "tombstoneMs">;
  log: Logger;
  now?: () => number;
}

/** Period of the safety-net scan of every record. */
export const FULL_SCAN_MS = 10 * 60_000;

/** Sweep period: a quarter of the grace, between 1 s and 30 s. */
export function sweepIntervalMs(graceMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(graceMs / 4)));
}

/** The killed record a sweep writes for a sandbox of a lost node. */
export function toNodeLost(record: StoredSandbox, now: number): StoredSandbox {
  return { ...toKilled(record, now), killReason: "node_lost", error: record.error };
}

/** Periodic sweep for sandboxes of lost nodes. */
export class LostNodeSweeper {
  readonly #deps: LostNodeDeps;
  /** Node id -> when this node first saw its lease missing. */
  readonly #missingSince = new Map<NodeId, number>();
  /** Nodes live at the previous tick. */
  #lastLive = new Set<NodeId>();
  /** When the next scan has work to do (a grace or a tombstone falls due); null: none known. */
  #nextDueAt: number | null = null;
  #lastScanAt: number | null = null;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  /** Record scans done (tests and the bench read it). */
  scans = 0;

  constructor(deps: LostNodeDeps) {
    this.#deps = deps;
  }

  /** Starts the periodic sweep. */
  start(): void {
    this.#timer = setInterval(() => void this.sweep(), sweepIntervalMs(this.#deps.config.nodeLostGraceMs));
    this.#timer.unref?.();
  }

  /** Stops sweeping (waits for a sweep under way). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** One sweep (one at a time): reads the registry, and scans the records only when something may be due. */
  sweep(): Promise<void> {
    this.#running ??= this.#sweep()
      .catch((err: unknown) => this.#deps.log.warn({ err: (err as Error).message }, "lost-node sweep failed"))
      .finally(() => (this.#running = null));
    return this.#running;
  }

  async #sweep(): Promise<void> {
    const { registry } = this.#deps;
    const now = (this.#deps.now ?? Date.now)();
    const live = new Set((await registry.list()).map((n) => n.nodeId));
    live.add(this.#deps.nodeId);
    const someoneLeft = [...this.#lastLive].some((id) => !live.has(id));
    this.#lastLive = live;
    const due =
      this.#lastScanAt === null ||
      someoneLeft ||
      (this.#nextDueAt !== null && now >= this.#nextDueAt) ||
      now - this.#lastScanAt >= FULL_SCAN_MS;
    if (due) await this.#scan(live, now);
  }

  /** One pass over every record: marks what is due, and works out when the next pass is. */
  async #scan(live: Set<NodeId>, now: number): Promise<void> {
    const { store, config, log } = this.#deps;
    this.scans++;
    this.#lastScanAt = now;
    let nextDueAt: number | null = null;
    const later = (at: number) => (nextDueAt = nextDueAt === null ? at : Math.min(nextDueAt, at));
    const seenMissing = new Set<NodeId>();
    for await (const record of store.scan()) {
      if (live.has(record.nodeId)) continue;
      seenMissing.add(record.nodeId);
      const since = this.#missingSince.get(record.nodeId) ?? now;
      this.#missingSince.set(record.nodeId, since);
      if (now - since < config.nodeLostGraceMs) {
        later(since + config.nodeLostGraceMs);
        continue;
      }
      try {
        if (record.state !== "killed") {
          const written = await store.mutate(record.sandboxId, (latest) =>
            latest.state !== "killed" && latest.nodeId === record.nodeId ? { record: toNodeLost(latest, now), event: "node_lost" } : null,
          );
          if (written.killReason === "node_lost" && written.internal.killedAt === now) {
            log.warn({ sandboxId: record.sandboxId, lostNodeId: record.nodeId }, "sandbox of a lost node marked killed");
          }
          later(now + config.tombstoneMs);
        } else if ((record.internal.killedAt ?? 0) + config.tombstoneMs <= now) {
          await store.deleteIfRevision(record.sandboxId, record.revision);
        } else {
          later((record.internal.killedAt ?? now) + config.tombstoneMs);
        }
      } catch (err) {
        log.warn({ sandboxId: record.sandboxId, err: (err as Error).message }, "lost-node sweep: record skipped");
        later(now); // try again on the next tick
      }
    }
    // Forget nodes that came back or hold nothing any more.
    for (const id of this.#missingSince.keys()) if (!seenMissing.has(id)) this.#missingSince.delete(id);
    this.#nextDueAt = nextDueAt;
  }
}
