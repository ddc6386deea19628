/**
 * `--help` text, rendered only from the flag declarations the parsers use
 * (./args.ts), so usage can never list a flag a command does not take or miss
 * one it does.
 */
import { argsSynopsis, type Flag, type Flags, type HelpRequested, type Usage } from "./args.js";

/** Width usage lines are wrapped at. */
const WIDTH = 110;

/** `[--port PORT]`, `--node-id ID` (required), `[--metadata k=v]...`. */
export function flagSynopsis(name: string, flag: Flag): string {
  const value = flag.type === "string" ? ` ${flag.value ?? name.toUpperCase()}` : "";
  const core = `--${name}${value}`;
  return `${flag.required ? core : `[${core}]`}${flag.multiple ? "..." : ""}`;
}

/** Words joined into lines of at most WIDTH, continuation lines indented by `indent`. */
function wrap(words: string[], first: string, indent: number): string[] {
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    if (line.trim().length > 0 && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = " ".repeat(indent) + word;
    } else {
      line = line.length === 0 || line.endsWith(" ") ? line + word : `${line} ${word}`;
    }
  }
  lines.push(line);
  return lines;
}

function defaultOf(flag: Flag): string {
  const d = flag.default;
  if (d === undefined || d === false || (Array.isArray(d) && d.length === 0)) return "";
  return ` (default ${Array.isArray(d) ? d.join(",") : String(d)})`;
}

/** The synopsis lines of one command: name, positionals, then its flags (the common client flags left out when asked). */
export function commandSynopsis(name: string, flags: Flags, usage: Usage | null, { withCommon = true } = {}): string[] {
  const args = usage ? argsSynopsis(usage) : "";
  const words = Object.entries(flags)
    .filter(([, f]) => withCommon || !f.common)
    .map(([n, f]) => flagSynopsis(n, f));
  const head = args ? `${name} ${args}` : name;
  return wrap(words, head, Math.min(head.length + 1, 16));
}

/** `corral <command> --help`: usage line(s), what it does, one line per flag. */
export function formatCommandHelp(name: string, help: HelpRequested): string {
  const { flags, usage } = help;
  const prefix = "usage: corral ";
  const lines = commandSynopsis(usage?.command ?? name, flags, usage).map((l, i) => (i === 0 ? prefix : " ".repeat(prefix.length)) + l);
  if (usage?.summary) lines.push("", usage.summary);
  const rows: [string, string][] = Object.entries(flags).map(([n, f]) => [
    `--${n}${f.type === "string" ? ` ${f.value ?? n.toUpperCase()}` : ""}`,
    `${f.help ?? ""}${defaultOf(f)}${f.multiple ? " (repeatable)" : ""}`.trim(),
  ]);
  rows.push(["-h, --help", "print this help"]);
  const width = Math.max(...rows.map(([k]) => k.length)) + 2;
  lines.push("", "options:", ...rows.map(([k, v]) => `  ${k.padEnd(width)}${v}`.trimEnd()));
  return `${lines.join("\n")}\n`;
}

/** One group of the overview (`servers`, `sandboxes`), each command with its help (null: it declared none). */
export interface OverviewGroup {
  title: string;
  commands: { name: string; help: HelpRequested | null }[];
}

/** `corral --help`: every command with its positionals and flags; flags every client command takes are named once. */
export function formatOverview(groups: OverviewGroup[]): string {
  const lines = ["usage: corral <command> [options]    (corral <command> --help: what it does and each option)"];
  for (const group of groups) {
    const common = new Map<string, Flag>();
    for (const { help } of group.commands) for (const [n, f] of Object.entries(help?.flags ?? {})) if (f.common) common.set(n, f);
    const also = [...common].map(([n, f]) => flagSynopsis(n, f).replace(/^\[(.*)\]$/, "$1"));
    lines.push("", also.length ? `${group.title} (each also takes ${also.join(" and ")}):` : `${group.title}:`);
    for (const { name, help } of group.commands) {
      const synopsis = help ? commandSynopsis(name, help.flags, help.usage, { withCommon: false }) : [name];
      lines.push(...synopsis.map((l) => `  ${l}`));
    }
  }
  return `${lines.join("\n")}\n`;
}
