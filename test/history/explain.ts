/**
 * A readable timeline of one sandbox in a history (its events, the
 * operations whose replies or requests name it, and every create with the
 * idempotency key of its records, also the ones that failed and so name no
 * sandbox: the create behind a `ghost_create`), printed next to an anomaly
 * so that a failed run can be understood from its log alone.
 */
import type { History } from "./types.js";

/** One line per event and per operation of `sandboxId`, in time order. */
export function explainSandbox(history: History, sandboxId: string): string[] {
  const lines: { at: number; text: string }[] = [];
  const keys = new Set<string>();
  for (const e of history.events) {
    if (e.sandboxId !== sandboxId) continue;
    if (e.record.internal.key) keys.add(e.record.internal.key);
    lines.push({ at: e.at, text: `event rev ${e.revision} ${e.event}: ${e.from ?? "-"} -> ${e.to} endAt=${e.record.endAt} inc=${e.record.internal.incarnation}` });
  }
  for (const o of history.ops) {
    const reply = JSON.stringify(o.reply ?? null);
    const sameKey = o.op === "create" && typeof o.args.key === "string" && keys.has(o.args.key);
    if (o.args.sandboxId !== sandboxId && !reply.includes(sandboxId) && !sameKey) continue;
    const records = o.op === "list" ? ((o.reply as { items?: { sandboxId: string; revision: number; state: string }[] })?.items ?? []).filter((r) => r.sandboxId === sandboxId) : [];
    const summary =
      o.errorCode ?? (o.op === "list" ? records.map((r) => `rev ${r.revision} ${r.state}`).join(",") : `rev ${(o.reply as { revision?: number; sandbox?: { revision: number } }).revision ?? (o.reply as { sandbox?: { revision: number } }).sandbox?.revision}`);
    lines.push({ at: o.startMs, text: `op ${o.op} client ${o.client} ${JSON.stringify(o.args)} ${o.startMs}..${o.endMs} -> ${summary}` });
  }
  return lines.sort((a, b) => a.at - b.at).map((l) => `${l.at} ${l.text}`);
}
