/**
 * The lifecycle as a Mermaid `stateDiagram-v2`, generated from the exported
 * transition table (never drawn by hand, so docs/lifecycle.md cannot drift:
 * test/unit/lifecycle-doc.test.ts compares the two).
 */
import { TRANSITIONS, type TransitionRow } from "./transitions.js";

/** Mermaid reads `:` as the label separator and breaks on newlines; keep labels to one plain line. */
function label(text: string): string {
  return text.replace(/[\r\n]+/g, " ").replace(/:/g, " -").replace(/`/g, "").trim();
}

function rowLines(row: TransitionRow): string[] {
  if (row.from === "any" || row.to === "same") {
    // The idempotency row has no arrow of its own: it is a property of every state.
    return [`    note right of killed : any state - ${label(row.event)} - ${label(row.notes)}`];
  }
  const to = row.to;
  return row.from.map((from) => `    ${from} --> ${to} : ${label(row.event)}`);
}

/**
 * The diagram text: `[*] --> starting`, one arrow per (source state, row) in
 * table order, `killed --> [*]`, and the idempotency row as a note.
 * Deterministic (same table, same text), ends with a newline.
 */
export function lifecycleMermaid(table: readonly TransitionRow[] = TRANSITIONS): string {
  const lines = ["stateDiagram-v2", "    [*] --> starting"];
  for (const row of table) lines.push(...rowLines(row));
  lines.push("    killed --> [*]");
  return `${lines.join("\n")}\n`;
}
