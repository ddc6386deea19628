/**
 * What each API operation does, independent of the transport. Validation
 * comes first (a malformed body is `invalid_argument` whatever the state);
 * `get`/`list` read the KV; `create` is scheduled onto a node (./create.ts);
 * everything else is routed to the owning node by the record's `nodeId`,
 * which decides against its current record inside the sandbox's mailbox.
 * An owner that does not answer is `unavailable`: never a guess. A tenant's
 * request (./scope.ts) sees only its tenant's records; the rest are `not_found`.
 */
import { GoneError, NotFoundError, UnavailableError } from "../errors.js";
import type { SandboxId } from "../ids.js";
import { validateTimeoutMs } from "../lifecycle/deadline.js";
import { NodeUnreachableError, requestNode, type NodeSuccess, type SandboxNodeCommand } from "../node-protocol.js";
import type { ConnectReply } from "../client/types.js";
import { toPublicRecord, type StoredSandbox } from "../schema/record.js";
import { REFRESH_DEFAULT_MS, parseRequest } from "../schema/requests.js";
import type { ApiOp } from "../subjects.js";
import { createSandbox } from "./create.js";
import { ADMIN_SCOPE, canSee, type ApiScope } from "./scope.js";
import type { ApiDeps } from "./deps.js";

export type { ApiDeps } from "./deps.js";

/** The record, if `scope` may see it: another tenant's sandbox is `not_found`, exactly like a missing one. */
async function mustGet(deps: ApiDeps, id: SandboxId, scope: ApiScope): Promise<StoredSandbox> {
  const record = await deps.store.get(id);
  if (!record || !canSee(scope, record)) throw new NotFoundError(`sandbox ${id} not found`);
  return record;
}

type RoutedOp = Exclude<SandboxNodeCommand["op"], "create" | "get">;

/**
 * Ops on an existing sandbox: answered from a tombstone, else by the owner.
 * A tenant's request reads the record first (its tenant decides), so it
 * never takes the in-process shortcut past that check.
 */
async function routed(deps: ApiDeps, command: SandboxNodeCommand & { op: RoutedOp }, scope: ApiScope): Promise<unknown> {
  const checked = scope.tenant === null ? null : await mustGet(deps, command.sandboxId, scope);
  const here = deps.local?.(command);
  return replyOf(command, here ? await here : await viaOwner(deps, command, checked ?? (await mustGet(deps, command.sandboxId, scope))));
}

/** Sends the command to the record's owner (a tombstone answers by itself). */
async function viaOwner(deps: ApiDeps, command: SandboxNodeCommand & { op: RoutedOp }, record: StoredSandbox): Promise<NodeSuccess> {
  if (record.state === "killed") {
    // The tombstone answers without the owner, which may be long gone.
    if (command.op === "kill") return { ok: true, record };
    throw new GoneError(`sandbox ${record.sandboxId} is killed`);
  }
  try {
    return await requestNode(deps.nc, record.nodeId, command, deps.config.nodeRequestTimeoutMs);
  } catch (err) {
    if (!(err instanceof NodeUnreachableError)) throw err;
    throw new UnavailableError(`sandbox ${record.sandboxId} is owned by node ${record.nodeId}, which is unreachable: ${err.message}; retry later`, { cause: err });
  }
}

function replyOf(command: SandboxNodeCommand & { op: RoutedOp }, reply: NodeSuccess): unknown {
  if (command.op === "connect") return { resumed: reply.resumed ?? false, sandbox: toPublicRecord(reply.record) } satisfies ConnectReply;
  return toPublicRecord(reply.record);
}

/** Validates `body` for `op` and performs it as `scope` (admin by default); throws CorralErrors. */
export async function handleApi(deps: ApiDeps, op: ApiOp, body: unknown, scope: ApiScope = ADMIN_SCOPE): Promise<unknown> {
  switch (op) {
    case "create":
      return createSandbox(deps, parseRequest("create", body), scope);
    case "get":
      return toPublicRecord(await mustGet(deps, parseRequest("get", body).sandboxId, scope));
    case "list": {
      const req = parseRequest("list", body);
      const tenant = scope.tenant === null ? {} : { tenant: scope.tenant };
      const page = await deps.store.list({ state: req.state, metadata: req.metadata, limit: req.limit, cursor: req.cursor ?? null, ...tenant });
      return { items: page.items.map(toPublicRecord), nextCursor: page.nextCursor };
    }
    case "kill":
    case "pause": {
      const { sandboxId } = parseRequest(op, body);
      return routed(deps, { op, sandboxId }, scope);
    }
    case "resume":
    case "connect": {
      const { sandboxId, timeoutMs } = parseRequest(op, body);
      if (timeoutMs === undefined) return routed(deps, { op, sandboxId }, scope);
      return routed(deps, { op, sandboxId, timeoutMs: validateTimeoutMs(timeoutMs, deps.config) }, scope);
    }
    case "set_timeout": {
      const { sandboxId, timeoutMs } = parseRequest(op, body);
      return routed(deps, { op, sandboxId, timeoutMs: validateTimeoutMs(timeoutMs, deps.config, { allowZero: true }) }, scope);
    }
    case "refresh": {
      const { sandboxId, durationMs } = parseRequest(op, body);
      return routed(deps, { op, sandboxId, durationMs: durationMs ?? REFRESH_DEFAULT_MS }, scope);
    }
  }
}
