/**
 * The browser's copy of the cluster: records and nodes from the UI server's
 * snapshot, kept current by its live messages. Like every consumer of the
 * broadcasts it applies an event only if its revision is newer than the one
 * it holds, so a replayed or late event never moves a row back. Pure (no DOM):
 * unit-tested.
 */
import type { NatsStatus, Snapshot, StreamMessages, WireEvent, WireNode, WireRecord } from "../wire.js";

/** What changed, for views that redraw only what they must. */
export type Change =
  | { kind: "snapshot" }
  | { kind: "transition"; event: WireEvent }
  | { kind: "node"; nodeId: string }
  | { kind: "connection" };

/** The browser's view of the live feed: not yet loaded, live, or reconnecting (to the UI server or, behind it, to NATS). */
export type Connection = "connecting" | "live" | "reconnecting-ui" | "reconnecting-nats";

/** Cluster state plus connection state, with change listeners. */
export class ClusterState {
  readonly records = new Map<string, WireRecord>();
  readonly nodes = new Map<string, WireNode>();
  /** Node lease of the cluster (from the snapshot). */
  nodeLeaseMs = 15_000;
  /** The cluster's id (from the snapshot); null until a node has made it. */
  clusterId: string | null = null;
  /** Whether a snapshot has arrived since the page loaded. */
  loaded = false;
  #nats: NatsStatus | null = null;
  #streamOpen = false;
  /** Server clock minus browser clock, so countdowns use the server's time. */
  #clockOffsetMs = 0;
  readonly #listeners = new Set<(change: Change) => void>();

  /** The server's current time, as estimated from the last snapshot. */
  now(browserNow: number = Date.now()): number {
    return browserNow + this.#clockOffsetMs;
  }

  get connection(): Connection {
    if (!this.#streamOpen) return this.loaded ? "reconnecting-ui" : "connecting";
    if (this.#nats === "reconnecting") return "reconnecting-nats";
    return this.loaded ? "live" : "connecting";
  }

  /** Registers a listener; returns its removal. */
  subscribe(fn: (change: Change) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Replaces everything with a snapshot, keeping any record whose held revision is newer. */
  applySnapshot(snapshot: Snapshot, receivedAt: number = Date.now()): void {
    this.#clockOffsetMs = snapshot.serverTime - receivedAt;
    this.nodeLeaseMs = snapshot.nodeLeaseMs;
    this.clusterId = snapshot.clusterId;
    this.#nats = snapshot.nats;
    const held = new Map(this.records);
    this.records.clear();
    for (const record of snapshot.sandboxes) {
      const mine = held.get(record.sandboxId);
      this.records.set(record.sandboxId, mine && mine.revision > record.revision ? mine : record);
    }
    this.nodes.clear();
    for (const node of snapshot.nodes) this.nodes.set(node.nodeId, node);
    this.loaded = true;
    this.#emit({ kind: "snapshot" });
  }

  /** Applies a transition if it is newer than the record held; returns whether it was applied. */
  applyTransition(event: WireEvent): boolean {
    const held = this.records.get(event.sandboxId);
    if (held && held.revision >= event.revision) return false;
    this.records.set(event.sandboxId, event.record);
    this.#emit({ kind: "transition", event });
    return true;
  }

  /** A node registered, heartbeated (`node`) or left (`null`). */
  applyNode(message: StreamMessages["node"]): void {
    if (message.node) this.nodes.set(message.nodeId, message.node);
    else this.nodes.delete(message.nodeId);
    this.#emit({ kind: "node", nodeId: message.nodeId });
  }

  /** The UI server's NATS connection went down or came back. */
  setNats(status: NatsStatus): void {
    this.#nats = status;
    this.#emit({ kind: "connection" });
  }

  /** The browser's stream to the UI server opened or dropped. */
  setStreamOpen(open: boolean): void {
    if (this.#streamOpen === open) return;
    this.#streamOpen = open;
    this.#emit({ kind: "connection" });
  }

  /** Whether a node's lease has run out (it stopped heartbeating). */
  isLeaseExpired(node: WireNode, now: number = this.now()): boolean {
    return now - node.heartbeatAt > this.nodeLeaseMs;
  }

  #emit(change: Change): void {
    for (const fn of this.#listeners) fn(change);
  }
}
