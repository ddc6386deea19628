/**
 * Proxy activity for this node's sandboxes. Each batch item is applied to
 * the sandbox's machine at once (`ACTIVITY`, in memory: an idle sandbox's
 * deadline moves and its timer re-arms on the snapshot), and the sandbox is
 * marked dirty. One node-wide ticker every `activityFlushMs` sends `FLUSH`
 * to the dirty sandboxes only, so the KV sees at most one activity write per
 * sandbox per `activityFlushMs`, and the cost per tick is O(active), never
 * O(all sandboxes).
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { decodeActivityBatch } from "../../src/activity.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { subjects } from "../../src/subjects.js";

/** What {@link ActivityFeed} needs from the node. */
export interface ActivityDeps {
  nc: NatsConnection;
  nodeId: NodeId;
  flushMs: number;
  log: Logger;
  /** Applies traffic seen at `at` to a hosted sandbox; false when it is not hosted. Must not block. */
  apply: (id: SandboxId, at: number) => boolean;
  /** Persists a sandbox's coalesced activity (through its mailbox). */
  flush: (id: SandboxId) => Promise<void>;
}

/** The activity subscription and its coalescing flush ticker. */
export class ActivityFeed {
  readonly #deps: ActivityDeps;
  readonly #dirty = new Set<SandboxId>();
  #sub: Subscription | null = null;
  #ticker: NodeJS.Timeout | null = null;

  constructor(deps: ActivityDeps) {
    this.#deps = deps;
  }

  /** Subscribes and starts the flush ticker. */
  start(): void {
    const { nc, nodeId, log } = this.#deps;
    this.#sub = nc.subscribe(subjects.activity(nodeId), {
      callback: (err, msg) => {
        if (err) return log.warn({ err }, "activity subscription error");
        try {
          this.ingest(decodeActivityBatch(msg.data).items);
        } catch (e) {
          // A bad batch is dropped whole; proxies resend activity in their next batch anyway.
          log.warn({ err: (e as Error).message }, "dropping invalid activity batch");
        }
      },
    });
    this.#ticker = setInterval(() => void this.flushAll(), this.#deps.flushMs);
    this.#ticker.unref?.();
  }

  /** Applies items (exported for tests and for in-process proxies). */
  ingest(items: readonly { sandboxId: SandboxId; lastActiveAt: number }[]): void {
    for (const item of items) if (this.#deps.apply(item.sandboxId, item.lastActiveAt)) this.#dirty.add(item.sandboxId);
  }

  /** Flushes every dirty sandbox now (the ticker, and graceful shutdown). */
  async flushAll(): Promise<void> {
    if (this.#dirty.size === 0) return;
    const ids = [...this.#dirty];
    this.#dirty.clear();
    await Promise.allSettled(ids.map((id) => this.#deps.flush(id)));
  }

  /** Unsubscribes and stops the ticker (call `flushAll` after to persist the rest). */
  async stop(): Promise<void> {
    if (this.#ticker) clearInterval(this.#ticker);
    this.#ticker = null;
    const sub = this.#sub;
    this.#sub = null;
    if (sub && !sub.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
  }
}
