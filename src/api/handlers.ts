/**
 * What each API operation does, independent of the transport. Validation
 * comes first (a malformed body is `invalid_argument` whatever the state);
 * `get`/`list` read the KV; `create` is scheduled onto a node; everything
 * else is routed to the owning node by the record's `nodeId`.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralConfig } from "../config.js";
import { CapacityExhaustedError, ConflictError, GoneError, NotFoundError, UnavailableError, isCorralError } from "../errors.js";
import { newSandboxId, sandboxIdForKey, type SandboxId } from "../ids.js";
import type { Logger } from "../log.js";
import { NodeUnreachableError, requestNode, type NodeSuccess, type SandboxNodeCommand } from "../node-protocol.js";
import type { ConnectReply, CreateReply } from "../client/types.js";
import { toPublicRecord, type StoredSandbox } from "../schema/record.js";
import { REFRESH_DEFAULT_MS, parseRequest, type RequestOf } from "../schema/requests.js";
import type { NodeRegistry } from "../store/node-registry.js";
import type { SandboxStore } from "../store/sandbox-store.js";
import type { ApiOp } from "../subjects.js";
import type { TemplateRegistry } from "../templates.js";
import { checkTimeoutRange, resolveCreate } from "./resolve-create.js";
import { placeSandbox } from "./scheduler.js";

export interface ApiDeps {
  nc: NatsConnection;
  store: SandboxStore;
  nodes: NodeRegistry;
  config: CorralConfig;
  templates: TemplateRegistry;
  log: Logger;
}


async function mustGet(deps: ApiDeps, id: SandboxId): Promise<StoredSandbox> {
  const record = await deps.store.get(id);
  if (!record) throw new NotFoundError(`sandbox ${id} not found`);
  return record;
}

function toNode(deps: ApiDeps, record: StoredSandbox, command: SandboxNodeCommand): Promise<NodeSuccess> {
  return requestNode(deps.nc, record.nodeId, command, deps.config.nodeRequestTimeoutMs);
}

/** Ops other than create/get/list: answered from a tombstone, else by the owner. */
async function routed(deps: ApiDeps, op: "kill" | "pause" | "resume" | "connect" | "set_timeout" | "refresh", command: SandboxNodeCommand) {
  const record = await mustGet(deps, command.sandboxId);
  if (record.state === "killed") {
    // The tombstone answers without the owner, which may be long gone.
    if (op === "kill") return toPublicRecord(record);
    throw new GoneError(`sandbox ${record.sandboxId} is killed`);
  }
  const reply = await toNode(deps, record, command);
  return op === "connect" ? ({ resumed: reply.resumed ?? false, sandbox: toPublicRecord(reply.record) } satisfies ConnectReply) : toPublicRecord(reply.record);
}

/** The live sandbox a key names, running (resumed if paused), as a create reply. */
async function existingForKey(deps: ApiDeps, record: StoredSandbox): Promise<CreateReply> {
  if (record.state === "killing") throw new ConflictError(`the sandbox of this key (${record.sandboxId}) is being killed; retry`, { retryable: true });
  const reply = await toNode(deps, record, { op: "connect", sandboxId: record.sandboxId });
  return { ...toPublicRecord(reply.record), created: false };
}

async function create(deps: ApiDeps, req: RequestOf<"create">): Promise<CreateReply> {
  const spec = resolveCreate(req, deps.config, deps.templates);
  const sandboxId = spec.key ? sandboxIdForKey(spec.key) : newSandboxId();
  if (spec.key) {
    const existing = await deps.store.get(sandboxId);
    if (existing && existing.state !== "killed") return existingForKey(deps, existing);
  }
  const nodes = await deps.nodes.list();
  if (nodes.length === 0) throw new UnavailableError("no live node");
  const { candidates, shortfalls } = placeSandbox(nodes, spec.resources);
  for (const node of candidates) {
    let reply: NodeSuccess;
    try {
      reply = await requestNode(deps.nc, node.nodeId, { op: "create", sandboxId, spec }, deps.config.nodeRequestTimeoutMs);
    } catch (err) {
      // Only "never reached the node" and "node full" fall through to the next
      // node. The id is fixed, so a create that did run on a slow node is found
      // by the next node's createIfAbsent instead of being made twice.
      if (err instanceof NodeUnreachableError) {
        deps.log.warn({ nodeId: node.nodeId, sandboxId, err: err.message }, "create: node unreachable, trying the next");
        continue;
      }
      if (isCorralError(err) && err.code === "capacity_exhausted") {
        shortfalls.push(`${node.nodeId}: ${err.message}`);
        continue;
      }
      throw err;
    }
    if (reply.created === false) {
      // Lost a race on this id (same key): answer with the winner, once running.
      return reply.record.state === "running" ? { ...toPublicRecord(reply.record), created: false } : existingForKey(deps, reply.record);
    }
    return { ...toPublicRecord(reply.record), created: true, ...(reply.trafficToken ? { trafficToken: reply.trafficToken } : {}) };
  }
  if (candidates.length > 0 && shortfalls.length === 0) throw new UnavailableError("no node answered the create");
  throw new CapacityExhaustedError(`no node can admit the sandbox: ${shortfalls.join("; ")}`);
}

/** Validates `body` for `op` and performs it; throws CorralErrors. */
export async function handleApi(deps: ApiDeps, op: ApiOp, body: unknown): Promise<unknown> {
  switch (op) {
    case "create":
      return create(deps, parseRequest("create", body));
    case "get":
      return toPublicRecord(await mustGet(deps, parseRequest("get", body).sandboxId));
    case "list": {
      const req = parseRequest("list", body);
      const page = await deps.store.list({ state: req.state, metadata: req.metadata, limit: req.limit, cursor: req.cursor ?? null });
      return { items: page.items.map(toPublicRecord), nextCursor: page.nextCursor };
    }
    case "kill":
    case "pause": {
      const { sandboxId } = parseRequest(op, body);
      return routed(deps, op, { op, sandboxId });
    }
    case "resume":
    case "connect": {
      const req = parseRequest(op, body);
      checkTimeoutRange("timeoutMs", req.timeoutMs, 1, deps.config);
      return routed(deps, op, { op, sandboxId: req.sandboxId, ...(req.timeoutMs === undefined ? {} : { timeoutMs: req.timeoutMs }) });
    }
    case "set_timeout": {
      const req = parseRequest("set_timeout", body);
      checkTimeoutRange("timeoutMs", req.timeoutMs, 0, deps.config);
      return routed(deps, op, { op, sandboxId: req.sandboxId, timeoutMs: req.timeoutMs });
    }
    case "refresh": {
      const req = parseRequest("refresh", body);
      return routed(deps, op, { op, sandboxId: req.sandboxId, durationMs: req.durationMs ?? REFRESH_DEFAULT_MS });
    }
  }
}
