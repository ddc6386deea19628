/**
 * The pure half of `SandboxStore.list`: query validation, filtering, the
 * newest-first order and keyset paging with an opaque cursor. No I/O, so the
 * paging rules are unit-tested without a server.
 *
 * The cursor is keyset-based (base64url of the last item's `(createdAt,
 * sandboxId)`), not an offset: records created or deleted between two page
 * requests never cause a duplicate or a gap among the records that existed
 * throughout.
 */
import { InvalidArgumentError } from "../errors.js";
import { isSandboxId, type NodeId } from "../ids.js";
import { SANDBOX_STATES, type SandboxState, type StoredSandbox } from "../schema/record.js";
import { LIST_DEFAULT_LIMIT, LIST_MAX_LIMIT } from "../schema/requests.js";

/** A list request as the store takes it (the API's body plus an optional node filter). */
export interface ListQuery {
  /** Only these states. `killed` tombstones are listed only when this includes `killed`. */
  state?: SandboxState[];
  /** Every given `k = v` must be in the record's metadata. */
  metadata?: Record<string, string>;
  /** Page size. @default 100 (max 1000) */
  limit?: number;
  /** `nextCursor` of the previous page; null/absent for the first page. */
  cursor?: string | null;
  /** Only sandboxes owned by this node. */
  nodeId?: NodeId;
  /** Only sandboxes of this tenant; absent lists every tenant's (admin). */
  tenant?: string;
}

/** One page of a list, newest first. `nextCursor` is null on the last page. */
export interface ListPage {
  items: StoredSandbox[];
  nextCursor: string | null;
}

/** Position of a record in list order. */
export interface CursorPosition {
  createdAt: number;
  sandboxId: string;
}

/** Encodes the position after which the next page starts. */
export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.createdAt, pos.sandboxId]), "utf8").toString("base64url");
}

/** Decodes a cursor; anything that is not one this module made is `invalid_argument`. */
export function decodeCursor(cursor: string): CursorPosition {
  const bad = () => new InvalidArgumentError("cursor: malformed (pass back the nextCursor of the previous page)");
  if (!/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) throw bad();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw bad();
  const [createdAt, sandboxId] = parsed as unknown[];
  if (typeof createdAt !== "number" || !Number.isSafeInteger(createdAt) || createdAt < 0 || !isSandboxId(sandboxId)) throw bad();
  return { createdAt, sandboxId };
}

/**
 * List order: `createdAt` newest first, ties by `sandboxId` ascending (ids
 * are unique, so the order is total and a cursor names one position).
 */
export function compareListOrder(a: CursorPosition, b: CursorPosition): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.sandboxId < b.sandboxId ? -1 : a.sandboxId > b.sandboxId ? 1 : 0;
}

/** A validated query: what `matches` and `selectPage` need. */
export interface CompiledListQuery {
  states: ReadonlySet<SandboxState>;
  metadata: [string, string][];
  limit: number;
  after: CursorPosition | null;
  nodeId: NodeId | null;
  tenant: string | null;
}

/**
 * Validates and compiles a query. Bad `limit`, unknown states or a malformed
 * cursor are `invalid_argument` (validation before any read).
 */
export function compileListQuery(query: ListQuery): CompiledListQuery {
  const limit = query.limit ?? LIST_DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
    throw new InvalidArgumentError(`limit: must be an integer 1..${LIST_MAX_LIMIT}, got ${String(query.limit)}`);
  }
  for (const s of query.state ?? []) {
    if (!(SANDBOX_STATES as readonly string[]).includes(s)) throw new InvalidArgumentError(`state: unknown state ${JSON.stringify(s)}`);
  }
  // No state filter means every state except the killed tombstones.
  const states = new Set<SandboxState>(
    query.state && query.state.length > 0 ? query.state : SANDBOX_STATES.filter((s) => s !== "killed"),
  );
  return {
    states,
    metadata: Object.entries(query.metadata ?? {}),
    limit,
    after: query.cursor ? decodeCursor(query.cursor) : null,
    nodeId: query.nodeId ?? null,
    tenant: query.tenant ?? null,
  };
}

/** True when the record passes the query's filters (not the cursor). */
export function matches(q: CompiledListQuery, record: StoredSandbox): boolean {
  if (!q.states.has(record.state)) return false;
  if (q.nodeId !== null && record.nodeId !== q.nodeId) return false;
  if (q.tenant !== null && record.tenant !== q.tenant) return false;
  return q.metadata.every(([k, v]) => Object.hasOwn(record.metadata, k) && record.metadata[k] === v);
}

/**
 * One page from every record (in any order): filter, order, skip to after the
 * cursor, take `limit`. `nextCursor` is set only when records remain after
 * this page, so the last page says null. O(n log n) for n matching records.
 */
export function selectPage(q: CompiledListQuery, records: Iterable<StoredSandbox>): ListPage {
  const candidates: StoredSandbox[] = [];
  for (const r of records) {
    if (!matches(q, r)) continue;
    if (q.after !== null && compareListOrder(r, q.after) <= 0) continue;
    candidates.push(r);
  }
  candidates.sort(compareListOrder);
  const items = candidates.slice(0, q.limit);
  const last = items.at(-1);
  const nextCursor = candidates.length > q.limit && last ? encodeCursor(last) : null;
  return { items, nextCursor };
}
