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
 */
import type { CorralConfig } from "../../src/config.js";
import type { NodeId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { NodeRegistry } from "../../src/store/node-registry.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";

/** What the sweep needs. */
export interface LostNodeDeps {
  nodeId: NodeId;
  store: Pick<SandboxStore, "scan" | "mutate" | "deleteIfRevision">;
  registry: Pick<NodeRegistry, "list">;
  config: Pick<CorralConfig, "nodeLostGraceMs" | "tombstoneMs">;
  log: Logger;
  now?: () => number;
}

/** Sweep period: a quarter of the grace, between 1 s and 30 s. */
export function sweepIntervalMs(graceMs: number): number {
  return Math.min(30_000, Math.max(1_000, Math.floor(graceMs / 4)));
}

/** The killed record a sweep writes for a sandbox of a lost node. */
export function toNodeLost(record: StoredSandbox, now: number): StoredSandbox {
  return {
    ...record,
    state: "killed",
    endAt: null,
    killReason: "node_lost",
    internal: { ...record.internal, endpoint: null, killedAt: now, attempts: 0 },
  };
}

/** Periodic sweep for sandboxes of lost nodes. */
export class LostNodeSweeper {
  readonly #deps: LostNodeDeps;
  /** Node id -> when this node first saw its lease missing. */
  readonly #missingSince = new Map<NodeId, number>();
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

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

  /** One sweep (one at a time). Returns how many sandboxes it marked and tombstones it deleted. */
  sweep(): Promise<void> {
    this.#running ??= this.#sweep()
      .catch((err: unknown) => this.#deps.log.warn({ err: (err as Error).message }, "lost-node sweep failed"))
      .finally(() => (this.#running = null));
    return this.#running;
  }

  async #sweep(): Promise<void> {
    const { store, registry, config, log } = this.#deps;
    const now = (this.#deps.now ?? Date.now)();
    const live = new Set((await registry.list()).map((n) => n.nodeId));
    live.add(this.#deps.nodeId);
    const seenMissing = new Set<NodeId>();
    for await (const record of store.scan()) {
      if (live.has(record.nodeId)) continue;
      seenMissing.add(record.nodeId);
      const since = this.#missingSince.get(record.nodeId) ?? now;
      this.#missingSince.set(record.nodeId, since);
      if (now - since < config.nodeLostGraceMs) continue;
      try {
        if (record.state !== "killed") {
          const written = await store.mutate(record.sandboxId, (latest) =>
            latest.state !== "killed" && latest.nodeId === record.nodeId ? { record: toNodeLost(latest, now), event: "node_lost" } : null,
          );
          if (written.killReason === "node_lost" && written.internal.killedAt === now) {
            log.warn({ sandboxId: record.sandboxId, lostNodeId: record.nodeId }, "sandbox of a lost node marked killed");
          }
        } else if ((record.internal.killedAt ?? 0) + config.tombstoneMs <= now) {
          await store.deleteIfRevision(record.sandboxId, record.revision);
        }
      } catch (err) {
        log.warn({ sandboxId: record.sandboxId, err: (err as Error).message }, "lost-node sweep: record skipped");
      }
    }
    // Forget nodes that came back or hold nothing any more.
    for (const id of this.#missingSince.keys()) if (!seenMissing.has(id)) this.#missingSince.delete(id);
  }
}
