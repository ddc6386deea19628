/**
 * The JSON shapes the UI server sends to the browser. Self-contained (no
 * imports) so the browser bundle can share them without pulling in Node or
 * zod; `assert-wire.ts` checks at compile time that the kernel's types still
 * fit these, so the two cannot drift apart silently.
 */

/** The contract's seven states, in contract order. */
export type WireState = "starting" | "running" | "pausing" | "paused" | "resuming" | "killing" | "killed";

/** A public sandbox record (`toPublicRecord`): never `internal`, so never a token hash or endpoint. */
export interface WireRecord {
  sandboxId: string;
  template: string;
  state: WireState;
  nodeId: string;
  revision: number;
  createdAt: number;
  startedAt: number | null;
  endAt: number | null;
  lastActiveAt: number | null;
  timeoutMs: number;
  expiration: "ttl" | "manual";
  lifecycle: { onTimeout: "kill" | "pause"; autoResume: boolean; idle: boolean };
  metadata: Record<string, string>;
  resources: { cpu: number; memoryMB: number };
  killReason: string | null;
  error: { op: string; message: string; at: number } | null;
}

/** One record write (DESIGN.md, "Events") with its public record. */
export interface WireEvent {
  sandboxId: string;
  from: WireState | null;
  to: WireState;
  event: string;
  revision: number;
  at: number;
  nodeId: string;
  record: WireRecord;
}

interface Amounts {
  cpu: number;
  memoryMB: number;
  sandboxes: number;
}

/** A live node's registration and last heartbeat. */
export interface WireNode {
  nodeId: string;
  version: string;
  address: string | null;
  driver: "docker" | "process";
  pauseMode: "freeze" | "stop";
  startedAt: number;
  heartbeatAt: number;
  capacity: Amounts;
  allocation: Amounts;
  counts: Partial<Record<WireState, number>>;
  /** Ready warm-pool members per pooled template (absent: the node keeps no pool). */
  warm?: Record<string, number>;
  /** Set by `corral drain`: admits no new sandbox. */
  drain?: boolean;
  /** Stopped on purpose (SIGTERM) at this time; its sandboxes are kept for the stop grace. */
  stoppingAt?: number;
}

/** Whether the UI server's NATS connection is up. */
export type NatsStatus = "connected" | "reconnecting";

/** `GET /api/snapshot` and the SSE `snapshot` message: the whole cluster view. */
export interface Snapshot {
  /** The server's clock when the snapshot was taken (the browser corrects countdowns by it). */
  serverTime: number;
  /** The cluster's id (DESIGN.md, "Cluster identity"); null until a node has started on this store. */
  clusterId: string | null;
  nats: NatsStatus;
  nodes: WireNode[];
  /** Every record in the KV, killed tombstones included. */
  sandboxes: WireRecord[];
  /** A node whose `heartbeatAt` is older than this has lost its lease. */
  nodeLeaseMs: number;
}

/** `GET /api/sandboxes/:id/history`: the sandbox's events from CORRAL_EVENTS, oldest first. */
export interface History {
  sandboxId: string;
  events: WireEvent[];
  /** Older events that were left out to bound the reply. */
  omitted: number;
}

/** A state of the chart, laid out (top-left corner, size). */
export interface ChartNode {
  id: WireState;
  x: number;
  y: number;
  width: number;
  height: number;
  initial: boolean;
  final: boolean;
  /** Events handled without leaving the state (e.g. `SET_TIMEOUT [hasTtl]`). */
  internal: string[];
}

/** One machine transition drawn on a chart edge. */
export interface ChartTransition {
  /** The xstate event type (`PAUSE`, `xstate.done.actor.pause`, `always`, ...). */
  event: string;
  guard: string | null;
  /** What is drawn: the event in operator terms plus its guard. */
  label: string;
}

/**
 * An arrow of the chart with its routed polyline and its label's box. Every
 * transition between the same two states shares one arrow (one label line
 * each), so parallel edges do not clutter the chart.
 */
export interface ChartEdge {
  id: string;
  source: WireState;
  target: WireState;
  transitions: ChartTransition[];
  points: { x: number; y: number }[];
  labelBox: { x: number; y: number; width: number; height: number } | null;
}

/** `GET /api/machine`: the state chart of `sandboxMachine`, laid out by elkjs on the server. */
export interface ChartLayout {
  machineId: string;
  initial: WireState;
  width: number;
  height: number;
  nodes: ChartNode[];
  edges: ChartEdge[];
}

/** SSE messages of `GET /api/stream`, by SSE event name. */
export interface StreamMessages {
  snapshot: Snapshot;
  transition: WireEvent;
  node: { nodeId: string; node: WireNode | null };
  status: { nats: NatsStatus };
}

/** Every error reply of the UI server (the contract's shape). */
export interface ErrorBody {
  error: { code: string; message: string };
}

/** The actions the UI can take, each `POST /api/sandboxes/:id/<action>`. */
export const UI_ACTIONS = ["pause", "resume", "kill", "set_timeout"] as const;
export type UiAction = (typeof UI_ACTIONS)[number];
