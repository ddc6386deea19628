/**
 * The UI's live feed: subscribes once to every sandbox's transition events
 * (broadcast, no queue group), watches the node registry and the NATS
 * connection, and fans all of it out to the browsers' SSE channels. After a
 * reconnect it re-sends a snapshot, because events published while this
 * process was disconnected are not replayed to core subscriptions.
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { revealsGap, subscribeEvents, type SandboxEvent } from "../../src/events.js";
import type { SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { toPublicRecord, type SandboxState } from "../../src/schema/record.js";
import { readClusterId, type NodeRecord, type NodeRegistry, type SandboxStore } from "../../src/store/index.js";
import { sseFrame, type SseChannel } from "./sse-channel.js";
import type { NatsStatus, Snapshot, WireNode } from "./wire.js";

/** Keep-alive comment period on idle SSE connections. */
const PING_MS = 15_000;

/** What the hub reads from and listens to. */
export interface LiveHubDeps {
  nc: NatsConnection;
  store: SandboxStore;
  registry: NodeRegistry;
  log: Logger;
  /** The cluster's node lease, passed to the browser to mark stale nodes. */
  nodeLeaseMs: number;
}

/** Drops the KV revision: the browser keys nodes by id and replaces them whole. */
function wireNode(record: NodeRecord): WireNode {
  const { revision: _revision, ...node } = record;
  return node;
}

/** Live state fan-out to SSE channels. */
export class LiveHub {
  readonly #channels = new Set<SseChannel>();
  /** Newest (revision, state) relayed per sandbox, for `revealsGap`. */
  readonly #held = new Map<SandboxId, { revision: number; state: SandboxState }>();
  #status: NatsStatus;
  #events: Subscription | undefined;
  #stopNodeWatch: (() => void) | undefined;
  #ping: NodeJS.Timeout | undefined;
  #closed = false;
  /** Read until found, then kept: a cluster's id never changes. */
  #clusterId: string | null = null;

  constructor(private readonly deps: LiveHubDeps) {
    this.#status = deps.nc.isClosed() ? "reconnecting" : "connected";
  }

  /** The NATS connection's state as last seen. */
  get status(): NatsStatus {
    return this.#status;
  }

  /** Subscribes to events, nodes and connection status. */
  start(): void {
    const { nc, log } = this.deps;
    this.#events = subscribeEvents(
      nc,
      (event) => this.#onEvent(event),
      (err) => log.warn({ err }, "ui: undecodable event skipped"),
    );
    this.#watchNodes();
    this.#ping = setInterval(() => this.#channels.forEach((ch) => ch.ping()), PING_MS);
    void this.#followStatus();
  }

  /** Reads the whole cluster view from the KV (throws when NATS is unreachable). */
  async snapshot(): Promise<Snapshot> {
    const serverTime = Date.now();
    const [clusterId, nodes, sandboxes] = await Promise.all([
      this.#clusterId ?? readClusterId(this.deps.nc),
      this.deps.registry.list(),
      (async () => {
        const out = [];
        for await (const stored of this.deps.store.scan()) out.push(toPublicRecord(stored));
        return out;
      })(),
    ]);
    this.#clusterId = clusterId;
    return { serverTime, clusterId, nats: this.#status, nodes: nodes.map(wireNode), sandboxes, nodeLeaseMs: this.deps.nodeLeaseMs };
  }

  /** Adopts a browser's SSE response: status now, a snapshot as soon as it is read, live messages after it. */
  add(channel: SseChannel): void {
    this.#channels.add(channel);
    channel.onClose(() => this.#channels.delete(channel));
    channel.send("status", { nats: this.#status });
    void this.#resync([channel]);
  }

  /** Ends every SSE response and stops listening. The connection itself is the caller's. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#ping);
    this.#events?.unsubscribe();
    this.#stopNodeWatch?.();
    for (const ch of this.#channels) ch.end();
    this.#channels.clear();
  }

  /**
   * Relays an event; when its `from` shows that writes of the sandbox were
   * missed (`revealsGap`), also reads the record from the KV and relays it if
   * it is newer still, so browsers never keep a state the cluster has left.
   */
  #onEvent(event: SandboxEvent): void {
    const gap = revealsGap(event, this.#held.get(event.sandboxId));
    this.#hold(event.sandboxId, event.revision, event.to);
    this.#broadcast((ch) => ch.send("transition", { ...event, record: toPublicRecord(event.record) }));
    if (gap) void this.#reload(event);
  }

  /** Remembers the newest (revision, state) relayed per live sandbox; a killed one is forgotten (nothing follows it but a new incarnation). */
  #hold(id: SandboxId, revision: number, state: SandboxState): void {
    const held = this.#held.get(id);
    if (held !== undefined && held.revision >= revision) return;
    if (state === "killed") this.#held.delete(id);
    else this.#held.set(id, { revision, state });
  }

  async #reload(event: SandboxEvent): Promise<void> {
    let record;
    try {
      record = await this.deps.store.get(event.sandboxId);
    } catch (err) {
      this.deps.log.warn({ err, sandboxId: event.sandboxId }, "ui: reload after a revision gap failed");
      return;
    }
    if (record === null || record.revision <= event.revision) return;
    this.#hold(record.sandboxId, record.revision, record.state);
    const reloaded = { sandboxId: record.sandboxId, from: event.to, to: record.state, event: "reload", revision: record.revision, at: Date.now(), nodeId: record.nodeId };
    this.#broadcast((ch) => ch.send("transition", { ...reloaded, record: toPublicRecord(record) }));
  }

  #broadcast(send: (ch: SseChannel) => void): void {
    for (const ch of this.#channels) send(ch);
  }

  #watchNodes(): void {
    this.#stopNodeWatch?.();
    this.#stopNodeWatch = this.deps.registry.watch((nodeId, record) =>
      this.#broadcast((ch) => ch.send("node", { nodeId, node: record ? wireNode(record) : null })),
    );
  }

  /** Holds the channels' live messages, sends them a fresh snapshot, then what arrived meanwhile. */
  async #resync(channels: SseChannel[]): Promise<void> {
    channels.forEach((ch) => ch.hold());
    let frame: string | null = null;
    try {
      frame = sseFrame("snapshot", await this.snapshot());
    } catch (err) {
      // NATS is down: the status says so, and the reconnect triggers the next resync.
      this.deps.log.warn({ err }, "ui: snapshot failed");
    }
    channels.forEach((ch) => ch.release(frame));
  }

  async #followStatus(): Promise<void> {
    for await (const s of this.deps.nc.status()) {
      if (this.#closed) return;
      if (s.type === "disconnect" && this.#status !== "reconnecting") {
        this.#setStatus("reconnecting");
      } else if (s.type === "reconnect") {
        this.#setStatus("connected");
        // The KV watch's consumer may not survive a server restart; a fresh one replays every node.
        this.#watchNodes();
        void this.#resync([...this.#channels]);
      }
    }
  }

  #setStatus(status: NatsStatus): void {
    this.#status = status;
    this.deps.log.info({ nats: status }, "ui: NATS connection status");
    this.#broadcast((ch) => ch.send("status", { nats: status }));
  }
}
