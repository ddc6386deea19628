/**
 * The cluster view: nodes, and every sandbox in a live table filterable by
 * state, node and metadata. The filter lives in the URL (see filters.ts).
 * Transitions redraw within the frame they arrive in; clocks tick 4x/s.
 */
import type { WireState } from "../../wire.js";
import { h, replaceChildren, setText } from "../dom.js";
import { STATES, filterToQuery, matchesFilter, parseMetadataTerms, type SandboxFilter } from "../filters.js";
import type { ClusterState } from "../state.js";
import { NodesPanel } from "./nodes.js";
import { SandboxTable } from "./table.js";

const TICK_MS = 250;

/** Where a sandbox's view is. */
export const sandboxHref = (id: string) => `#/sandbox/${encodeURIComponent(id)}`;

/** The cluster view. `dispose` when navigating away. */
export class ClusterView {
  readonly element: HTMLElement;
  readonly #nodes: NodesPanel;
  readonly #table = new SandboxTable(sandboxHref);
  readonly #stateChips = h("div", { class: "state-filter", role: "group", "aria-label": "Filter by state" });
  readonly #nodeSelect = h("select", { "aria-label": "Filter by node", name: "node" });
  readonly #metaInput = h("input", { type: "search", name: "metadata", placeholder: "metadata: user=alice team", "aria-label": "Filter by metadata", spellcheck: "false" });
  readonly #metaError = h("span", { class: "field-error", role: "alert" });
  readonly #summary = h("span", { class: "muted" });
  readonly #clusterId = h("code", { class: "cluster-id", title: "corral.cluster label on every container of this cluster" });
  readonly #unsubscribe: () => void;
  readonly #ticker: number;
  #frame = 0;

  constructor(
    private readonly state: ClusterState,
    private filter: SandboxFilter,
  ) {
    this.#nodes = new NodesPanel(state);
    this.#metaInput.value = filter.metadataText;
    this.#metaInput.addEventListener("input", () => this.#setFilter({ ...this.filter, metadataText: this.#metaInput.value }));
    this.#nodeSelect.addEventListener("change", () => this.#setFilter({ ...this.filter, node: this.#nodeSelect.value || null }));
    this.element = h(
      "div",
      { class: "view cluster-view" },
      h("div", { class: "page-head" }, h("div", {}, h("h1", {}, "Cluster"), h("div", { class: "subtitle" }, "id ", this.#clusterId))),
      h("h2", { class: "section-title" }, "Nodes"),
      this.#nodes.element,
      h("div", { class: "section-head" }, h("h2", { class: "section-title" }, "Sandboxes ", this.#summary)),
      h(
        "div",
        { class: "card table-card" },
        h("div", { class: "filters" }, this.#stateChips, h("div", { class: "filter-fields" }, this.#nodeSelect, h("div", { class: "meta-field" }, this.#metaInput, this.#metaError))),
        this.#table.element,
      ),
    );
    this.#unsubscribe = state.subscribe((change) => {
      if (change.kind !== "connection") this.#schedule();
    });
    this.#ticker = window.setInterval(() => {
      const now = this.state.now();
      this.#table.tick(now);
      this.#nodes.tick();
    }, TICK_MS);
    this.#renderNow();
  }

  dispose(): void {
    this.#unsubscribe();
    clearInterval(this.#ticker);
    cancelAnimationFrame(this.#frame);
  }

  /** Coalesces a burst of events into one redraw per frame. */
  #schedule(): void {
    if (this.#frame !== 0) return;
    this.#frame = requestAnimationFrame(() => {
      this.#frame = 0;
      this.#renderNow();
    });
  }

  #setFilter(filter: SandboxFilter): void {
    this.filter = filter;
    const query = filterToQuery(filter).toString();
    // replaceState: typing a filter must not push a history entry per key.
    history.replaceState(null, "", `#/${query ? `?${query}` : ""}`);
    this.#renderNow();
  }

  #renderNow(): void {
    const records = [...this.state.records.values()];
    setText(this.#clusterId, this.state.clusterId ?? "(no node has started yet)");
    this.#nodes.render();
    this.#renderStateChips(records.map((r) => r.state));
    this.#renderNodeSelect(records.map((r) => r.nodeId));
    const parsed = parseMetadataTerms(this.filter.metadataText);
    setText(this.#metaError, "error" in parsed ? parsed.error : "");
    this.#metaInput.classList.toggle("invalid", "error" in parsed);
    const shown = records.filter((r) => matchesFilter(r, this.filter));
    setText(this.#summary, shown.length === records.length ? `(${records.length})` : `(${shown.length} of ${records.length})`);
    const empty = !this.state.loaded ? "Loading…" : records.length === 0 ? "No sandboxes yet. Create one with `npx corral create`." : "No sandbox matches the filter.";
    this.#table.show(shown, this.state.now(), empty);
  }

  #renderStateChips(states: WireState[]): void {
    const counts = new Map<WireState, number>();
    for (const st of states) counts.set(st, (counts.get(st) ?? 0) + 1);
    const selected = new Set(this.filter.states);
    const chip = (label: string, count: number, active: boolean, onclick: () => void, state?: WireState) =>
      h(
        "button",
        { type: "button", class: `chip-toggle${state ? ` state-${state}` : ""}${active ? " active" : ""}`, "aria-pressed": String(active), "data-state": state ?? "all", onclick },
        label,
        h("span", { class: "chip-count" }, String(count)),
      );
    replaceChildren(
      this.#stateChips,
      chip("all", states.length, selected.size === 0, () => this.#setFilter({ ...this.filter, states: [] })),
      ...STATES.map((st) =>
        chip(st, counts.get(st) ?? 0, selected.has(st), () => {
          const next = new Set(selected);
          if (next.has(st)) next.delete(st);
          else next.add(st);
          this.#setFilter({ ...this.filter, states: STATES.filter((x) => next.has(x)) });
        }, st),
      ),
    );
  }

  #renderNodeSelect(recordNodes: string[]): void {
    const ids = [...new Set([...this.state.nodes.keys(), ...recordNodes, ...(this.filter.node ? [this.filter.node] : [])])].sort();
    const options = [h("option", { value: "" }, "all nodes"), ...ids.map((id) => h("option", { value: id }, id))];
    // Rebuild only when the set of nodes changed, so an open dropdown is not closed under the user.
    const key = ids.join("\n");
    if (this.#nodeSelect.dataset.key !== key) {
      replaceChildren(this.#nodeSelect, ...options);
      this.#nodeSelect.dataset.key = key;
    }
    this.#nodeSelect.value = this.filter.node ?? "";
  }
}
