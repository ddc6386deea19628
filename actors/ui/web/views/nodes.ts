/**
 * The nodes of the cluster: each node's lease (how long since its last
 * heartbeat), what it can hold against what it holds, and its sandboxes by
 * state, counted from the live records (so they move with every transition,
 * not only with the next heartbeat).
 */
import type { WireNode, WireRecord, WireState } from "../../wire.js";
import { h, replaceChildren, setText } from "../dom.js";
import { STATES } from "../filters.js";
import { formatAgo, formatDuration } from "../format.js";
import type { ClusterState } from "../state.js";

function meter(label: string, used: number, total: number, unit: string): HTMLElement {
  const ratio = total > 0 ? Math.min(1, used / total) : 0;
  const bar = h("span", { class: `meter-fill${ratio > 0.9 ? " high" : ""}` });
  bar.style.width = `${(ratio * 100).toFixed(1)}%`;
  return h(
    "div",
    { class: "meter-row" },
    h("span", { class: "meter-label" }, label),
    h("span", { class: "meter", role: "meter", "aria-label": label, "aria-valuemin": 0, "aria-valuemax": total, "aria-valuenow": used }, bar),
    h("span", { class: "meter-value" }, `${round(used)} / ${round(total)}${unit}`),
  );
}

function round(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, "");
}

/** Sandboxes per state on `nodeId`, from the live records. */
export function countByState(records: Iterable<WireRecord>, nodeId: string): Map<WireState, number> {
  const counts = new Map<WireState, number>();
  for (const r of records) if (r.nodeId === nodeId) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return counts;
}

/** The nodes panel; `render` on node changes and transitions, `tick` for lease ages. */
export class NodesPanel {
  readonly element = h("div", { class: "nodes" });
  readonly #ages = new Map<string, { el: HTMLElement; node: WireNode; card: HTMLElement; badge: HTMLElement }>();

  constructor(private readonly state: ClusterState) {}

  render(): void {
    this.#ages.clear();
    const nodes = [...this.state.nodes.values()].sort((a, b) => a.nodeId.localeCompare(b.nodeId));
    if (nodes.length === 0) {
      replaceChildren(this.element, h("div", { class: "card empty-card muted" }, "No node holds a lease. Start one with ", h("code", {}, "corral node"), " or ", h("code", {}, "corral up"), "."));
      return;
    }
    replaceChildren(this.element, ...nodes.map((n) => this.#card(n)));
    this.tick();
  }

  tick(): void {
    const now = this.state.now();
    for (const { el, node, card, badge } of this.#ages.values()) {
      const expired = this.state.isLeaseExpired(node, now);
      // As `corral nodes` names it (a stopping node's lease lapses on purpose).
      const state = node.stoppingAt !== undefined ? "stopping" : expired ? "lost" : node.drain ? "draining" : "ready";
      setText(badge, state);
      badge.dataset.nodeState = state;
      setText(el, expired ? `lease expired ${formatAgo(node.heartbeatAt + this.state.nodeLeaseMs, now)}` : `heartbeat ${formatAgo(node.heartbeatAt, now)}`);
      card.classList.toggle("lease-expired", expired);
    }
  }

  #card(node: WireNode): HTMLElement {
    const counts = countByState(this.state.records.values(), node.nodeId);
    const age = h("span", { class: "lease-age" });
    const badge = h("span", { class: "node-state small" });
    const card = h(
      "section",
      { class: "card node-card", "data-node-id": node.nodeId, "aria-label": `Node ${node.nodeId}` },
      h(
        "div",
        { class: "node-head" },
        h("span", { class: "lease-dot" }),
        h("span", { class: "node-name mono" }, node.nodeId),
        h("span", { class: "node-meta muted" }, `${node.driver} · v${node.version}`),
        badge,
      ),
      h("div", { class: "node-lease muted small" }, age, ` · lease ${formatDuration(this.state.nodeLeaseMs)} · up ${formatDuration(this.state.now() - node.startedAt)}`),
      h(
        "div",
        { class: "meters" },
        meter("CPU", node.allocation.cpu, node.capacity.cpu, ""),
        meter("Memory", node.allocation.memoryMB, node.capacity.memoryMB, " MB"),
        meter("Sandboxes", node.allocation.sandboxes, node.capacity.sandboxes, ""),
      ),
      h(
        "div",
        { class: "node-counts" },
        ...STATES.filter((st) => (counts.get(st) ?? 0) > 0).map((st) => h("span", { class: `count state-${st}`, "data-state": st }, h("b", {}, String(counts.get(st))), ` ${st}`)),
        counts.size === 0 ? h("span", { class: "muted small" }, "no sandboxes") : null,
        ...Object.entries(node.warm ?? {}).map(([template, n]) => h("span", { class: "count warm", "data-warm": template }, h("b", {}, String(n)), ` warm ${template}`)),
      ),
    );
    this.#ages.set(node.nodeId, { el: age, node, card, badge });
    return card;
  }
}
