/**
 * The history checker (issue 14, item 6). It reads a recorded history
 * (./types.ts) and reports every place where Corral broke a promise of the
 * contract:
 *
 * - revisions strictly increase: per sandbox, each writer's events reach the
 *   stream in revision order, and one revision is one record;
 * - every write is a row of the lifecycle table (./lifecycle-rows.ts), and
 *   every write has its event (an event's `from` is the state before it);
 * - every success reply's record is in the history exactly as written (same
 *   revision, same content), has the state its operation answers with, and
 *   is not older than a reply that ended before its request started;
 * - nothing killed comes back, except a new incarnation made by a create
 *   with a key;
 * - the `endAt` of a set_timeout/refresh reply is what the request persisted;
 * - nothing is done late (DESIGN.md "Cluster", Hung node): every sandbox
 *   incarnation was created (`createdAt`) while a create with its key was in
 *   flight, and every deadline a set_timeout/refresh wrote was computed
 *   (`endAt - timeoutMs`) while such a request on that sandbox was in flight
 *   (a connect to a running sandbox writes a refresh).
 *   A request is in flight from when it was sent until its caller got the
 *   reply or gave up (`startMs..endMs`), so work done for a caller that has
 *   gone (a node waking from a stall) is found; writes from before the first
 *   recorded request are left out (an earlier run on the same stream).
 *   Creates are recorded with
 *   the key the client sends (the client adds one when the caller gave none).
 *
 * Times are wall-clock ms of one machine (clients and node share the clock).
 */
import { REPUBLISHED_EVENT, type SandboxEvent } from "../../src/events.js";
import { toPublicRecord, type SandboxRecord } from "../../src/schema/record.js";
import type { ApiOp } from "../../src/subjects.js";
import { isLifecycleRow } from "./lifecycle-rows.js";
import type { Anomaly, History, OpRecord } from "./types.js";

/** `refresh` without `durationMs` (DESIGN.md, "Exact behaviours"). */
const DEFAULT_REFRESH_MS = 60_000;

/** The state each operation's success reply must carry (absent: any). */
const REPLY_STATE: Partial<Record<ApiOp, SandboxRecord["state"]>> = { create: "running", kill: "killed", pause: "paused", resume: "running", connect: "running" };

/** JSON with sorted keys: records decoded from msgpack and from JSON differ only in key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/** The sandbox records a success reply carries. */
function replyRecords(op: OpRecord): SandboxRecord[] {
  const reply = op.reply as Record<string, unknown> | undefined;
  if (reply === undefined || reply === null) return [];
  if (op.op === "list") return (reply.items as SandboxRecord[]) ?? [];
  if (op.op === "connect") return [reply.sandbox as SandboxRecord];
  if (op.op === "create") {
    const { created: _c, trafficToken: _t, ...record } = reply;
    return [record as unknown as SandboxRecord];
  }
  return [reply as unknown as SandboxRecord];
}

/** Checks a history; returns every anomaly found (empty: none). */
export function checkHistory(history: History): Anomaly[] {
  const anomalies: Anomaly[] = [];
  const report = (kind: Anomaly["kind"], sandboxId: string, detail: string) => anomalies.push({ kind, sandboxId, detail });

  const bySandbox = new Map<string, SandboxEvent[]>();
  for (const e of history.events) {
    const list = bySandbox.get(e.sandboxId);
    if (list === undefined) bySandbox.set(e.sandboxId, [e]);
    else list.push(e);
  }
  /** sandboxId -> revision -> the event (first seen) at that revision. */
  const atRevision = new Map<string, Map<number, SandboxEvent>>();
  for (const [id, events] of bySandbox) atRevision.set(id, checkSandboxEvents(id, events, report));

  checkReplies(history, atRevision, report);
  // Writes from before the first recorded request belong to no request of this history (an earlier run on the same stream).
  const since = history.ops.reduce((min, op) => Math.min(min, op.startMs), Number.POSITIVE_INFINITY);
  for (const [id, events] of bySandbox) checkNothingLate(history, id, events, since, report);
  return anomalies;
}

type Report = (kind: Anomaly["kind"], sandboxId: string, detail: string) => void;

/** The per-sandbox checks of the stream; returns its events by revision. */
function checkSandboxEvents(id: string, events: SandboxEvent[], report: Report): Map<number, SandboxEvent> {
  const byRev = new Map<number, SandboxEvent>();
  let lastWriterRevision = 0;
  for (const e of events) {
    // A re-published event is late by design (its writer's own event was lost); only writers' own events must arrive in order.
    if (e.event !== REPUBLISHED_EVENT) {
      if (e.revision <= lastWriterRevision) report("revision_order", id, `event ${e.event} at revision ${e.revision} after revision ${lastWriterRevision}`);
      lastWriterRevision = Math.max(lastWriterRevision, e.revision);
    }
    const held = byRev.get(e.revision);
    if (held === undefined) byRev.set(e.revision, e);
    else if (canonical(held.record) !== canonical(e.record)) report("two_records_one_revision", id, `revision ${e.revision}: ${held.event} and ${e.event} carry different records`);
  }

  const sorted = [...byRev.values()].sort((a, b) => a.revision - b.revision);
  let prev: SandboxEvent | undefined;
  for (const e of sorted) {
    const where = `revision ${e.revision} (${e.event}: ${e.from ?? "-"} -> ${e.to})`;
    if (e.to !== e.record.state) report("two_records_one_revision", id, `${where}: event says ${e.to}, its record ${e.record.state}`);
    if (prev === undefined) {
      if (e.from !== null) report("missing_write", id, `${where}: the first event of the sandbox names a previous state`);
    } else {
      const prevInc = prev.record.internal.incarnation;
      const inc = e.record.internal.incarnation;
      if (inc > prevInc) {
        if (prev.to !== "killed") report("not_a_lifecycle_row", id, `${where}: new incarnation ${inc} while incarnation ${prevInc} is ${prev.to}`);
        else if (e.to !== "starting" || e.record.internal.key === null) report("killed_came_back", id, `${where}: incarnation ${inc} after a kill is not a create with a key`);
      } else if (inc < prevInc) {
        report("killed_came_back", id, `${where}: incarnation ${inc} after incarnation ${prevInc}`);
      } else if (prev.to === "killed" && e.to !== "killed") {
        report("killed_came_back", id, `${where}: ${e.to} after killed at revision ${prev.revision}`);
      } else {
        if (!isLifecycleRow(prev.to, e.to)) report("not_a_lifecycle_row", id, `${where}: ${prev.to} -> ${e.to} after revision ${prev.revision}`);
        if (e.from !== null && e.from !== prev.to) report("missing_write", id, `${where}: the previous event (revision ${prev.revision}) left it ${prev.to}`);
        if (e.from !== null && !isLifecycleRow(e.from, e.to)) report("not_a_lifecycle_row", id, `${where}: the event's own change is no row`);
      }
    }
    prev = e;
  }
  return byRev;
}

function checkReplies(history: History, atRevision: Map<string, Map<number, SandboxEvent>>, report: Report): void {
  /** Per sandbox: (startMs, endMs, revision) of every record a success reply carried. */
  const seen = new Map<string, { op: OpRecord; revision: number }[]>();
  for (const op of history.ops) {
    if (op.errorCode === "internal") report("internal_error", String(op.args.sandboxId ?? "-"), `${op.op} answered internal`);
    if (op.errorCode !== undefined) continue;
    for (const r of replyRecords(op)) {
      const where = `${op.op} by client ${op.client} at ${op.startMs}..${op.endMs} replied revision ${r.revision} (${r.state})`;
      const ev = atRevision.get(r.sandboxId)?.get(r.revision);
      if (ev === undefined) report("reply_not_in_history", r.sandboxId, `${where}: the history has no record at that revision`);
      else if (canonical(toPublicRecord(ev.record)) !== canonical(r)) report("reply_not_in_history", r.sandboxId, `${where}: differs from the record written at that revision`);
      const wanted = REPLY_STATE[op.op];
      if (wanted !== undefined && r.state !== wanted) report("reply_wrong_state", r.sandboxId, `${where}: ${op.op} answers ${wanted}`);
      if (op.op === "set_timeout" || op.op === "refresh") checkEndAt(op, r, history.maxLifetimeMs, where, report);
      let list = seen.get(r.sandboxId);
      if (list === undefined) seen.set(r.sandboxId, (list = []));
      list.push({ op, revision: r.revision });
    }
  }
  for (const [id, replies] of seen) {
    for (const later of replies) {
      for (const earlier of replies) {
        if (earlier.op.endMs < later.op.startMs && later.revision < earlier.revision) {
          report("stale_reply", id, `${later.op.op} by client ${later.op.client} started at ${later.op.startMs} and replied revision ${later.revision}; ${earlier.op.op} by client ${earlier.op.client} had replied revision ${earlier.revision} at ${earlier.op.endMs}`);
          break;
        }
      }
    }
  }
}

/**
 * set_timeout: `endAt = min(now + timeoutMs, startedAt + maxLifetimeMs)` with
 * `now` inside the request's interval; refresh: `endAt >= now + durationMs`
 * (extend only, same ceiling). A paused sandbox has no deadline (`null`);
 * a manual one never has one.
 */
function checkEndAt(op: OpRecord, r: SandboxRecord, maxLifetimeMs: number, where: string, report: Report): void {
  if (r.expiration === "manual" || r.state === "paused") {
    if (r.endAt !== null) report("end_at_mismatch", r.sandboxId, `${where}: endAt ${r.endAt} on a ${r.expiration === "manual" ? "manual" : "paused"} sandbox`);
    return;
  }
  if (r.state !== "running") return;
  const cap = r.startedAt === null ? Infinity : r.startedAt + maxLifetimeMs;
  if (r.endAt === null) return report("end_at_mismatch", r.sandboxId, `${where}: no endAt on a running ttl sandbox`);
  if (op.op === "set_timeout") {
    const t = op.args.timeoutMs as number;
    const ok = r.endAt === cap ? cap <= op.endMs + t : r.endAt >= op.startMs + t && r.endAt <= op.endMs + t;
    if (!ok) report("end_at_mismatch", r.sandboxId, `${where}: endAt ${r.endAt} is not now + ${t} for a now in the request (${op.startMs + t}..${op.endMs + t})`);
  } else {
    const d = (op.args.durationMs as number | undefined) ?? DEFAULT_REFRESH_MS;
    if (r.endAt < Math.min(op.startMs + d, cap)) report("end_at_mismatch", r.sandboxId, `${where}: endAt ${r.endAt} is before request start + ${d} (${op.startMs + d})`);
  }
}

/** True when some op of `history` matches `which` and was in flight at `at`. */
function inFlight(history: History, at: number, which: (op: OpRecord) => boolean): boolean {
  return history.ops.some((op) => op.startMs <= at && at <= op.endMs && which(op));
}

/** The ghost-create and late-deadline checks of one sandbox's writers' events written from `since` on (see the module comment). */
function checkNothingLate(history: History, id: string, events: SandboxEvent[], since: number, report: Report): void {
  let prevEndAt: number | null = null;
  for (const e of events) {
    // A re-published event's trigger is unknown, so it is not checked; its endAt is still the one a later write may keep.
    if (e.event === REPUBLISHED_EVENT || e.at < since) {
      prevEndAt = e.record.endAt;
      continue;
    }
    const r = e.record;
    const where = `revision ${e.revision} (${e.event}, written at ${e.at})`;
    if (e.event === "create") {
      const key = r.internal.key;
      if (!inFlight(history, r.createdAt, (op) => op.op === "create" && op.args.key === key)) {
        report("ghost_create", id, `${where}: incarnation ${r.internal.incarnation} created at ${r.createdAt}, when no create with key ${JSON.stringify(key)} was in flight`);
      }
    } else if ((e.event === "set_timeout" || e.event === "refresh") && r.state === "running" && r.expiration === "ttl" && r.endAt !== null && r.endAt !== prevEndAt) {
      const endAt = r.endAt;
      const capped = r.startedAt !== null && endAt === r.startedAt + history.maxLifetimeMs;
      // A refresh write is a refresh, or a connect to a running sandbox (it extends by its timeoutMs, default the stored one).
      const causes: ApiOp[] = e.event === "set_timeout" ? ["set_timeout"] : ["refresh", "connect"];
      const asked = (op: OpRecord): number => {
        if (op.op === "set_timeout") return op.args.timeoutMs as number;
        if (op.op === "connect") return (op.args.timeoutMs as number | undefined) ?? r.timeoutMs;
        return (op.args.durationMs as number | undefined) ?? DEFAULT_REFRESH_MS;
      };
      const computedIn = (op: OpRecord) => causes.includes(op.op) && op.args.sandboxId === id && op.startMs <= endAt - asked(op) && endAt - asked(op) <= op.endMs;
      if (!capped && !history.ops.some(computedIn)) {
        report("late_deadline_move", id, `${where}: endAt ${endAt} is no ${causes.join("/")} in flight's now + its duration`);
      }
    }
    prevEndAt = r.endAt;
  }
}
