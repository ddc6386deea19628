/**
 * What each API operation does, independent of the transport. Validation
 * comes first (a malformed body is `invalid_argument` whatever the state);
 * `get`/`list` read the KV; `create` is scheduled onto a node (./create.ts);
 * everything else is routed to the owning node by the record's `nodeId`,
 * which decides against its current record inside the sandbox's mailbox.
 * An owner that does not answer is `unavailable`: never a guess.
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
import type { ApiDeps } from "./deps.js";

export type { ApiDeps } from "./deps.js";

async function mustGet(deps: ApiDeps, id: SandboxId): Promise<StoredSandbox> {
  const record = await deps.store.get(id);
  if (!record) throw new NotFoundError(`sandbox ${id} not found`);
  return record;
}

type RoutedOp = Exclude<SandboxNodeCommand["op"], "create" | "get">;

/** Ops on an existing sandbox: answered from a tombstone, else by the owner. */
async function routed(deps: ApiDeps, command: SandboxNodeCommand & { op: RoutedOp }): Promise<unknown> {
  const here = deps.local?.(command);
  return replyOf(command, here ? await here : await viaOwner(deps, command));
}

/** Finds the owner in the KV and sends it the command (a tombstone answers by itself). */
async function viaOwner(deps: ApiDeps, command: SandboxNodeCommand & { op: RoutedOp }): Promise<NodeSuccess> {
  const record = await mustGet(deps, command.sandboxId);
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

/** Validates `body` for `op` and performs it; throws CorralErrors. */
export async function handleApi(deps: ApiDeps, op: ApiOp, body: unknown): Promise<unknown> {
  switch (op) {
    case "create":
      return createSandbox(deps, parseRequest("create", body));
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
      return routed(deps, { op, sandboxId });
    }
    case "resume":
    case "connect": {
      const { sandboxId, timeoutMs } = parseRequest(op, body);
      if (timeoutMs === undefined) return routed(deps, { op, sandboxId });
      return routed(deps, { op, sandboxId, timeoutMs: validateTimeoutMs(timeoutMs, deps.config) });
    }
    case "set_timeout": {
      const { sandboxId, timeoutMs } = parseRequest(op, body);
      return routed(deps, { op, sandboxId, timeoutMs: validateTimeoutMs(timeoutMs, deps.config, { allowZero: true }) });
    }
    case "refresh": {
      const { sandboxId, durationMs } = parseRequest(op, body);
      return routed(deps, { op, sandboxId, durationMs: durationMs ?? REFRESH_DEFAULT_MS });
    }
  }
}
