/**
 * The live sandboxes table, newest first. Rows are keyed by sandbox id and
 * updated in place, so a transition changes one row (and flashes it) instead
 * of redrawing the table; `tick` updates only the countdowns.
 */
import type { WireRecord } from "../../wire.js";
import { h, replaceChildren, setText } from "../dom.js";
import { formatAgo, formatTimeLeft } from "../format.js";
import { metadataChips, stateBadge } from "./badges.js";

interface Row {
  tr: HTMLTableRowElement;
  record: WireRecord;
  left: HTMLTableCellElement;
  age: HTMLTableCellElement;
}

const COLUMNS = ["Sandbox", "Template", "State", "Node", "Time left", "Created", "Metadata"];

/** The table; `show` with the filtered records, `tick` for the clocks. */
export class SandboxTable {
  readonly element: HTMLElement;
  readonly #body = h("tbody", {});
  readonly #rows = new Map<string, Row>();
  readonly #empty = h("div", { class: "empty muted", hidden: true });

  constructor(private readonly href: (id: string) => string) {
    this.element = h(
      "div",
      { class: "table-wrap" },
      h("table", { class: "sandboxes", "aria-label": "Sandboxes" }, h("thead", {}, h("tr", {}, ...COLUMNS.map((c) => h("th", { scope: "col" }, c)))), this.#body),
      this.#empty,
    );
  }

  /** Shows `records` (already filtered) in order; `emptyText` when there are none. */
  show(records: WireRecord[], now: number, emptyText: string): void {
    const seen = new Set<string>();
    const ordered = [...records].sort((a, b) => b.createdAt - a.createdAt || a.sandboxId.localeCompare(b.sandboxId));
    ordered.forEach((record, i) => {
      seen.add(record.sandboxId);
      let row = this.#rows.get(record.sandboxId);
      if (!row) {
        row = this.#row(record);
        this.#rows.set(record.sandboxId, row);
      } else if (row.record.revision !== record.revision) {
        this.#fill(row, record);
        flash(row.tr);
      }
      // Move only rows that are out of place (keeps focus and hover state).
      if (this.#body.children[i] !== row.tr) this.#body.insertBefore(row.tr, this.#body.children[i] ?? null);
    });
    for (const [id, row] of this.#rows) {
      if (!seen.has(id)) {
        row.tr.remove();
        this.#rows.delete(id);
      }
    }
    this.#empty.hidden = records.length > 0;
    setText(this.#empty, emptyText);
    this.tick(now);
  }

  tick(now: number): void {
    for (const { record: r, left, age } of this.#rows.values()) {
      const text = formatTimeLeft(r.endAt, now, r.state, r.expiration);
      setText(left, text);
      left.classList.toggle("expired", text === "expired");
      setText(age, formatAgo(r.createdAt, now));
    }
  }

  #row(record: WireRecord): Row {
    const tr = h("tr", { "data-sandbox-id": record.sandboxId });
    const row: Row = { tr, record, left: h("td", { class: "time-left mono" }), age: h("td", { class: "muted" }) };
    // The whole row opens the sandbox; the id is also a real link (keyboard, middle click).
    tr.addEventListener("click", (event) => {
      if ((event.target as HTMLElement).closest("a")) return;
      location.hash = this.href(record.sandboxId);
    });
    this.#fill(row, record);
    return row;
  }

  #fill(row: Row, record: WireRecord): void {
    row.record = record;
    row.tr.dataset.state = record.state;
    replaceChildren(
      row.tr,
      h("td", { class: "mono id" }, h("a", { href: this.href(record.sandboxId) }, record.sandboxId)),
      h("td", {}, record.template),
      h("td", { class: "state" }, stateBadge(record.state)),
      h("td", { class: "mono" }, record.nodeId),
      row.left,
      row.age,
      h("td", { class: "metadata" }, metadataChips(record.metadata)),
    );
  }
}

function flash(tr: HTMLElement): void {
  tr.classList.remove("flash");
  void tr.offsetWidth; // restart the animation
  tr.classList.add("flash");
}
