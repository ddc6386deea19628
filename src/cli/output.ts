/**
 * CLI output: human tables by default, the API's exact reply object with
 * `--json`. Errors: `--json` prints `{"error": {code, message}}` on stdout;
 * otherwise `error: <code>: <message>` on stderr. Either way exit code 1.
 */
import { isCorralError } from "../errors.js";
import type { SandboxRecord } from "../schema/record.js";

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

/** Renders rows as an aligned table with a header row. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

/** `4m 59s`, `1h 2m`, `expired`, `-` for none. */
export function formatRemaining(endAt: number | null, now = Date.now()): string {
  if (endAt === null) return "-";
  const ms = endAt - now;
  if (ms <= 0) return "expired";
  const s = Math.ceil(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

const metadataText = (m: Record<string, string>) =>
  Object.entries(m)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

export function recordsTable(records: SandboxRecord[]): string {
  return table(
    ["SANDBOX", "TEMPLATE", "STATE", "NODE", "ENDS IN", "METADATA"],
    records.map((r) => [r.sandboxId, r.template, r.state, r.nodeId, formatRemaining(r.endAt), metadataText(r.metadata)]),
  );
}

/** One record as `field  value` lines. */
export function recordDetails(r: SandboxRecord): string {
  const time = (t: number | null) => (t === null ? "-" : new Date(t).toISOString());
  const rows: [string, string][] = [
    ["sandbox", r.sandboxId],
    ["template", r.template],
    ["state", r.state],
    ["node", r.nodeId],
    ["revision", String(r.revision)],
    ["created", time(r.createdAt)],
    ["started", time(r.startedAt)],
    ["ends", r.endAt === null ? (r.expiration === "manual" ? "never (manual)" : "-") : `${time(r.endAt)} (in ${formatRemaining(r.endAt)})`],
    ["timeout", `${r.timeoutMs / 1000}s`],
    ["on timeout", r.lifecycle.onTimeout],
    ["auto-resume", String(r.lifecycle.autoResume)],
    ["idle", String(r.lifecycle.idle)],
    ["resources", `${r.resources.cpu} cpu, ${r.resources.memoryMB} MiB`],
    ["metadata", metadataText(r.metadata) || "-"],
  ];
  if (r.killReason) rows.push(["kill reason", r.killReason]);
  if (r.error) rows.push(["last error", `${r.error.op}: ${r.error.message} (${time(r.error.at)})`]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}

/** Prints the failure in the requested form and returns the exit code. */
export function reportError(err: unknown, json: boolean): number {
  const code = isCorralError(err) ? err.code : "internal";
  const message = err instanceof Error ? err.message : String(err);
  if (json) printJson({ error: { code, message } });
  else process.stderr.write(`error: ${code}: ${message}\n`);
  return 1;
}
