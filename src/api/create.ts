/**
 * `create`: key idempotency and scheduling across nodes.
 *
 * - With a `key` the id is derived from it, so every create with that key
 *   names one id and contends on one KV key. A live sandbox under it is
 *   answered (`created: false`) after a `resume` through its owner: a no-op
 *   on a running sandbox (same revision, no deadline change), a resume of a
 *   paused one, and a wait for a transient one to settle. A killed tombstone
 *   is replaced by a new incarnation (the node does that by CAS), except
 *   under a key the client library made (`CLIENT_KEY_PREFIX`): that create is
 *   a retry, and its killed sandbox is the answer (`unavailable` for a failed
 *   start, else `gone`), never a new sandbox nobody would hear of.
 * - Otherwise the scheduler orders the live nodes with room (most free
 *   capacity first) and the create is offered to each in turn. Only "never
 *   reached the node" and "node full" fall through to the next node; a node
 *   that answered with any other error (a driver failure, a bad template)
 *   is the answer. The id is fixed before the first try, so a create that did
 *   run on a slow node is found by the next node's `createIfAbsent` instead
 *   of being made twice. A candidate with another after it waits at most
 *   half of what is left of the request's deadline (a hung node whose lease
 *   has not lapsed yet must not use up the whole of it); the hung node drops
 *   the command when it wakes (deadline passed, or its lease lapsed).
 */
import { currentDeadline } from "../deadline-header.js";
import { CapacityExhaustedError, ConflictError, GoneError, UnavailableError, isCorralError } from "../errors.js";
import { CLIENT_KEY_PREFIX, newSandboxId, sandboxIdForKey, type SandboxId } from "../ids.js";
import { NodeUnreachableError, requestNode, type CreateSpec, type NodeSuccess } from "../node-protocol.js";
import type { CreateReply } from "../client/types.js";
import { toPublicRecord, type StoredSandbox } from "../schema/record.js";
import type { RequestOf } from "../schema/requests.js";
import type { ApiDeps } from "./deps.js";
import { DEFAULT_RESOURCES, resolveCreate } from "./resolve-create.js";
import { placeSandbox, warmTemplateOf } from "./scheduler.js";
import { ADMIN_SCOPE, canSee, type ApiScope } from "./scope.js";

/** A candidate gets at least this long before the next is tried. */
const MIN_TRY_MS = 1_000;

/** The live sandbox a key names, settled and running (resumed if paused), as a create reply. */
async function existingForKey(deps: ApiDeps, record: StoredSandbox, timeoutMs: number | undefined): Promise<CreateReply> {
  if (record.state === "killing") {
    throw new ConflictError(`the sandbox of this key (${record.sandboxId}) is being killed; retry once it is killed`, { retryable: true });
  }
  const reply = await requestNode(
    deps.nc,
    record.nodeId,
    { op: "resume", sandboxId: record.sandboxId, ...(timeoutMs === undefined ? {} : { timeoutMs }) },
    deps.config.nodeRequestTimeoutMs,
  );
  return { ...toPublicRecord(reply.record), created: false };
}

/**
 * How long one candidate may take: with another candidate after it, half of
 * what is left of the request's deadline, so a hung node (its lease not yet
 * lapsed) leaves time to try the next one.
 */
function tryTimeoutMs(deps: ApiDeps, moreCandidates: boolean): number {
  const deadline = currentDeadline();
  if (deadline === null || !moreCandidates) return deps.config.nodeRequestTimeoutMs;
  return Math.min(deps.config.nodeRequestTimeoutMs, Math.max(MIN_TRY_MS, Math.floor((deadline - Date.now()) / 2)));
}

/** Offers the create to each candidate node in turn; see the module comment. */
async function schedule(deps: ApiDeps, sandboxId: SandboxId, spec: CreateSpec, timeoutMs: number | undefined): Promise<CreateReply> {
  // A node stopped on purpose keeps its sandboxes but takes nothing new: not live for placement.
  const nodes = (await deps.nodes.list()).filter((n) => n.stoppingAt === undefined);
  if (nodes.length === 0) throw new UnavailableError("no live node: start one with `corral node` or `corral up`");
  const { candidates, shortfalls } = placeSandbox(nodes, spec.resources, warmTemplateOf(spec, DEFAULT_RESOURCES));
  let unreachable = 0;
  for (const [i, node] of candidates.entries()) {
    let reply: NodeSuccess;
    try {
      reply = await requestNode(deps.nc, node.nodeId, { op: "create", sandboxId, spec }, tryTimeoutMs(deps, i < candidates.length - 1));
    } catch (err) {
      if (err instanceof NodeUnreachableError) {
        unreachable++;
        deps.log.warn({ nodeId: node.nodeId, sandboxId, err: err.message }, "create: node unreachable, trying the next");
        continue;
      }
      if (isCorralError(err) && err.code === "capacity_exhausted") {
        // The node's own admission refused (its heartbeat was older than its allocation).
        shortfalls.push(err.message);
        continue;
      }
      throw err;
    }
    if (reply.created === false) {
      // Lost a race on this id (same key) to another create: answer with the winner once it runs.
      return reply.record.state === "running" ? { ...toPublicRecord(reply.record), created: false } : existingForKey(deps, reply.record, timeoutMs);
    }
    return { ...toPublicRecord(reply.record), created: true, ...(reply.trafficToken ? { trafficToken: reply.trafficToken } : {}) };
  }
  if (shortfalls.length === 0) throw new UnavailableError(`no node answered the create (${unreachable} unreachable)`);
  const also = unreachable > 0 ? ` (and ${unreachable} node(s) unreachable)` : "";
  throw new CapacityExhaustedError(`no node can admit the sandbox: ${shortfalls.join("; ")}${also}`);
}

/** Validated create request, made as `scope`'s tenant -> reply once the sandbox runs. */
export async function createSandbox(deps: ApiDeps, req: RequestOf<"create">, scope: ApiScope = ADMIN_SCOPE): Promise<CreateReply> {
  const spec = resolveCreate(req, deps.config, deps.templates, scope.tenant);
  const sandboxId = spec.key ? sandboxIdForKey(spec.key, scope.tenant) : newSandboxId();
  if (spec.key) {
    const existing = await deps.store.get(sandboxId);
    if (existing?.state === "killed" && spec.key.startsWith(CLIENT_KEY_PREFIX)) {
      // A retry of the client's own create (its first attempt's reply was lost): that sandbox is the
      // answer. A new incarnation would be a sandbox nobody holds the reply of.
      if (!canSee(scope, existing)) throw new ConflictError("this key names a sandbox of another tenant; use another key");
      if (existing.killReason === "start_failed") throw new UnavailableError(`sandbox ${existing.sandboxId} failed to start: ${existing.error?.message ?? "unknown error"}`);
      throw new GoneError(`sandbox ${existing.sandboxId} of this create was killed (${existing.killReason ?? "unknown reason"})`);
    }
    if (existing && existing.state !== "killed") {
      // A tenant's keys hash into its own id space already; this keeps a foreign record unreachable whatever the id.
      if (!canSee(scope, existing)) throw new ConflictError("this key names a sandbox of another tenant; use another key");
      return existingForKey(deps, existing, req.timeoutMs);
    }
  }
  return schedule(deps, sandboxId, spec, req.timeoutMs);
}
