/**
 * The internal protocol between the API service and node actors, on
 * `corral.v1.node.<nodeId>.<op>` (msgpack both ways). The API validates and
 * resolves every request at the edge (defaults applied), so a node receives
 * only complete, valid commands.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { decodeMsgpack, encodeMsgpack } from "./codec.js";
import { UnavailableError, errorFromCode, type CorralError, type ErrorCode } from "./errors.js";
import type { NodeId, SandboxId } from "./ids.js";
import type { Lifecycle, Metadata, Resources, StoredSandbox } from "./schema/record.js";
import { subjects, type NodeOp } from "./subjects.js";

/** A create with every default applied (DESIGN.md defaults; `resolveCreate` in src/api). */
export interface CreateSpec {
  template: string;
  timeoutMs: number;
  expiration: "ttl" | "manual";
  lifecycle: Lifecycle;
  metadata: Metadata;
  env: Record<string, string>;
  resources: Resources;
  secure: boolean;
  key: string | null;
  /** The tenant the create acted as (null: admin); stored in the record. */
  tenant: string | null;
}

export type NodeCommand =
  | { op: "create"; sandboxId: SandboxId; spec: CreateSpec }
  | { op: "get" | "kill" | "pause"; sandboxId: SandboxId }
  | { op: "resume" | "connect"; sandboxId: SandboxId; timeoutMs?: number }
  | { op: "set_timeout"; sandboxId: SandboxId; timeoutMs: number }
  | { op: "refresh"; sandboxId: SandboxId; durationMs: number }
  | { op: "reconcile" };

export interface NodeSuccess {
  ok: true;
  record: StoredSandbox;
  /** create: false when the key matched a live sandbox. */
  created?: boolean;
  /** connect: true when a paused sandbox was resumed. */
  resumed?: boolean;
  /** create with created=true only; never logged. */
  trafficToken?: string;
}

/** What one reconciliation did (counts); the reply to `reconcile`. */
export interface ReconcileSummary {
  /** Records hosted again as machine actors (or tombstone timers). */
  restored: number;
  /** Records written `killed` (container gone, or a crashed start). */
  killed: number;
  /** Interrupted pauses/resumes completed through the machine. */
  driven: number;
  /** Containers/processes without a live record, removed. */
  orphansRemoved: number;
  /** Already-hosted sandboxes whose container was re-checked. */
  checked: number;
}

export interface NodeReconciled {
  ok: true;
  summary: ReconcileSummary;
}

/** Every node command but `reconcile`: the ones about one sandbox. */
export type SandboxNodeCommand = Exclude<NodeCommand, { op: "reconcile" }>;

export interface NodeFailure {
  ok: false;
  error: { code: ErrorCode; message: string };
}

export type NodeReply = NodeSuccess | NodeReconciled | NodeFailure;

export function encodeNodeReply(reply: NodeReply): Uint8Array {
  return encodeMsgpack(reply);
}

export function failure(err: CorralError): NodeFailure {
  return { ok: false, error: { code: err.code, message: err.message } };
}

/**
 * The node could not be reached or did not answer: the command may or may not
 * have run. Distinct from an `unavailable` the node itself answered (e.g. a
 * driver failure), which must not be retried elsewhere.
 */
export class NodeUnreachableError extends UnavailableError {}

/** True for the errors a request raises when nobody serves the subject. */
function isNoResponders(err: unknown): boolean {
  const e = err as { code?: string; name?: string; message?: string };
  return e?.name === "NoRespondersError" || e?.code === "503" || /no responders/i.test(e?.message ?? "");
}

function isTimeout(err: unknown): boolean {
  const e = err as { name?: string; code?: string; message?: string };
  return e?.name === "TimeoutError" || e?.code === "TIMEOUT" || /timeout/i.test(e?.message ?? "");
}

/** Sends a command and returns the node's success reply; see {@link requestNode}. */
async function send(nc: NatsConnection, nodeId: NodeId, command: NodeCommand, timeoutMs: number): Promise<NodeSuccess | NodeReconciled> {
  const op: NodeOp = command.op;
  let bytes: Uint8Array;
  try {
    const msg = await nc.request(subjects.node(nodeId, op), encodeMsgpack(command), { timeout: timeoutMs });
    bytes = msg.data;
  } catch (err) {
    if (isNoResponders(err)) throw new NodeUnreachableError(`node ${nodeId} is unreachable`, { cause: err });
    if (isTimeout(err)) throw new NodeUnreachableError(`node ${nodeId} did not answer within ${timeoutMs} ms`, { cause: err });
    throw new NodeUnreachableError(`node ${nodeId}: ${(err as Error).message}`, { cause: err });
  }
  const reply = decodeMsgpack<NodeReply>(bytes);
  if (!reply.ok) throw errorFromCode(reply.error.code, reply.error.message);
  return reply;
}

/**
 * Sends a command about one sandbox to a node and returns its success reply.
 * Node errors are rethrown as the contract's CorralError; an unreachable or
 * silent node is `unavailable` (never a guess).
 */
export async function requestNode(nc: NatsConnection, nodeId: NodeId, command: SandboxNodeCommand, timeoutMs: number): Promise<NodeSuccess> {
  return (await send(nc, nodeId, command, timeoutMs)) as NodeSuccess;
}

/** Asks a node to reconcile its records with its containers now; resolves with what it did. */
export async function requestReconcile(nc: NatsConnection, nodeId: NodeId, timeoutMs: number): Promise<ReconcileSummary> {
  return ((await send(nc, nodeId, { op: "reconcile" }, timeoutMs)) as NodeReconciled).summary;
}
