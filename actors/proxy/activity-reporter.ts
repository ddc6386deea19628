/**
 * Counts forwarded requests per sandbox and sends one batch per owning node
 * per interval on `corral.v1.activity.<nodeId>` (src/activity.ts). Only
 * sandboxes with traffic since the previous batch are named; open WebSockets
 * count as activity on every batch while they stay open, so an idle-timeout
 * sandbox with a live terminal session does not expire under its user.
 *
 * `record` runs on every forwarded request: two Map lookups, no allocation
 * once a sandbox has an entry in the current window.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { ACTIVITY_BATCH_INTERVAL_MS, encodeActivityBatch, type ActivityItem } from "../../src/activity.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { subjects } from "../../src/subjects.js";

type Counter = { lastActiveAt: number; requests: number };

/** Batches activity for the owning nodes. */
export class ActivityReporter {
  /** nodeId -> sandboxId -> traffic in the current window. */
  #window = new Map<NodeId, Map<SandboxId, Counter>>();
  /** Open long-lived connections (WebSockets): sandboxId -> [nodeId, count]. */
  readonly #open = new Map<SandboxId, { nodeId: NodeId; count: number }>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly proxyId: string,
    private readonly log: Logger,
    private readonly intervalMs: number = ACTIVITY_BATCH_INTERVAL_MS,
  ) {}

  /** Starts the batch timer (unref'd: it never keeps a process alive). */
  start(): void {
    this.#timer = setInterval(() => this.flush(), this.intervalMs);
    this.#timer.unref();
  }

  /** Counts one forwarded request. */
  record(nodeId: NodeId, sandboxId: SandboxId, now: number): void {
    let perNode = this.#window.get(nodeId);
    if (perNode === undefined) this.#window.set(nodeId, (perNode = new Map()));
    const c = perNode.get(sandboxId);
    if (c === undefined) perNode.set(sandboxId, { lastActiveAt: now, requests: 1 });
    else {
      c.lastActiveAt = now;
      c.requests++;
    }
  }

  /** A long-lived connection opened; returns the function that closes it (call once). */
  openConnection(nodeId: NodeId, sandboxId: SandboxId): () => void {
    const o = this.#open.get(sandboxId);
    if (o === undefined) this.#open.set(sandboxId, { nodeId, count: 1 });
    else o.count++;
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      const cur = this.#open.get(sandboxId);
      if (cur !== undefined && --cur.count <= 0) this.#open.delete(sandboxId);
    };
  }

  /** Sends the current window, one message per node, and starts a new one. */
  flush(): void {
    const now = Date.now();
    const window = this.#window;
    this.#window = new Map();
    for (const [sandboxId, o] of this.#open) {
      let perNode = window.get(o.nodeId);
      if (perNode === undefined) window.set(o.nodeId, (perNode = new Map()));
      const c = perNode.get(sandboxId);
      if (c === undefined) perNode.set(sandboxId, { lastActiveAt: now, requests: 0 });
      else c.lastActiveAt = now;
    }
    for (const [nodeId, perNode] of window) {
      const items: ActivityItem[] = [];
      for (const [sandboxId, c] of perNode) items.push({ sandboxId, lastActiveAt: c.lastActiveAt, requests: c.requests });
      try {
        this.nc.publish(subjects.activity(nodeId), encodeActivityBatch({ proxyId: this.proxyId, at: now, items }));
      } catch (err) {
        // Activity is advisory: a closed connection loses one window, never a request.
        this.log.warn({ err, nodeId }, "activity batch not sent");
      }
    }
  }

  /** Stops the timer after a last flush. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (!this.nc.isClosed()) this.flush();
  }
}
