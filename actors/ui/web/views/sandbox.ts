/**
 * The sandbox view: where the sandbox is in its machine and exactly how it got
 * there. The chart, the record and the actions follow the live broadcasts; the
 * timeline holds its history from CORRAL_EVENTS, and scrubbing it shows the
 * chart and the record as they were at that revision.
 */
import type { ChartLayout, WireEvent, WireRecord } from "../../wire.js";
import { ApiError, fetchHistory, fetchMachine } from "../api.js";
import { h, replaceChildren, setText } from "../dom.js";
import { formatClock } from "../format.js";
import type { Change, ClusterState } from "../state.js";
import { ActionBar } from "./actions.js";
import { stateBadge } from "./badges.js";
import { StateChart, type Arrival } from "./chart.js";
import { RecordPanel } from "./record-panel.js";
import { Timeline } from "./timeline.js";

// The machine does not change while the page is open: fetch its chart once.
let machine: Promise<ChartLayout> | null = null;
function machineChart(): Promise<ChartLayout> {
  machine ??= fetchMachine().catch((err: unknown) => {
    machine = null;
    throw err;
  });
  return machine;
}

const TICK_MS = 250;

/** One sandbox, live. `dispose` when navigating away. */
export class SandboxView {
  readonly element: HTMLElement;
  #chart: StateChart | null = null;
  readonly #events = new Map<number, WireEvent>();
  #ordered: WireEvent[] = [];
  #omitted = 0;
  readonly #timeline = new Timeline((index) => this.#render(index === null ? null : "scrub"));
  readonly #record = new RecordPanel();
  readonly #actions = new ActionBar();
  readonly #badge = h("span", {});
  readonly #subtitle = h("div", { class: "subtitle" });
  readonly #banner = h("div", { class: "scrub-banner", hidden: true, role: "status" });
  readonly #chartHost = h("div", { class: "chart-host" }, h("p", { class: "muted" }, "Loading the machine…"));
  readonly #notFound = h(
    "section",
    { class: "card empty-card", hidden: true, role: "status" },
    h("h2", {}, "Sandbox not found"),
    h("p", { class: "muted" }, "The KV has no record of this id and CORRAL_EVENTS holds no event of it (a killed sandbox's tombstone is deleted after tombstoneMs)."),
  );
  readonly #historyError = h("div", { class: "action-error", role: "alert", hidden: true });
  readonly #unsubscribe: () => void;
  readonly #ticker: number;
  #historyLoaded = false;

  constructor(
    private readonly id: string,
    private readonly state: ClusterState,
  ) {
    this.element = h(
      "div",
      { class: "view sandbox-view", "data-sandbox-id": id },
      h(
        "div",
        { class: "page-head" },
        h("div", {}, h("h1", {}, h("span", { class: "mono" }, id), " ", this.#badge), this.#subtitle),
        this.#actions.element,
      ),
      this.#banner,
      this.#historyError,
      h(
        "div",
        { class: "sandbox-grid" },
        h("section", { class: "card chart-card", "aria-label": "State chart" }, h("div", { class: "card-head" }, h("h2", {}, "State machine"), legend()), this.#chartHost),
        h("div", { class: "side" }, this.#notFound, this.#record.element, this.#timeline.element),
      ),
    );
    this.#unsubscribe = state.subscribe((change) => this.#onChange(change));
    this.#ticker = window.setInterval(() => {
      if (this.#timeline.selected === null) this.#record.tick(this.state.now());
    }, TICK_MS);
    void this.#loadChart();
    void this.#loadHistory();
    this.#render(null);
  }

  /** Stops listening and ticking. */
  dispose(): void {
    this.#unsubscribe();
    clearInterval(this.#ticker);
  }

  async #loadChart(): Promise<void> {
    try {
      this.#chart = new StateChart(await machineChart());
      replaceChildren(this.#chartHost, this.#chart.element);
      this.#render(null);
    } catch (err) {
      const e = err as ApiError;
      replaceChildren(this.#chartHost, h("p", { class: "action-error", role: "alert" }, h("code", { class: "error-code" }, e.code ?? "error"), " ", e.message));
    }
  }

  /** (Re)reads the history; live events received meanwhile are merged by revision. */
  async #loadHistory(): Promise<void> {
    try {
      const history = await fetchHistory(this.id);
      for (const e of history.events) this.#events.set(e.revision, e);
      this.#omitted = history.omitted;
      this.#historyLoaded = true;
      this.#historyError.hidden = true;
      this.#reorder();
      this.#render(null);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("internal", String(err));
      this.#historyLoaded = true;
      this.#reorder();
      this.#render(null);
      replaceChildren(this.#historyError, h("code", { class: "error-code" }, e.code), ` history unavailable: ${e.message}`);
      this.#historyError.hidden = false;
    }
  }

  #onChange(change: Change): void {
    if (change.kind === "transition" && change.event.sandboxId === this.id) {
      this.#events.set(change.event.revision, change.event);
      this.#reorder();
      this.#render(this.#timeline.selected === null ? "live" : null);
    } else if (change.kind === "snapshot") {
      // Events broadcast while the UI server was cut off from NATS are only in the stream.
      void this.#loadHistory();
    }
  }

  #reorder(): void {
    this.#ordered = [...this.#events.values()].sort((a, b) => a.revision - b.revision);
    this.#timeline.setEvents(this.#ordered, this.#omitted);
  }

  /** The live record: the cluster state's, or the newest event's when the record is gone from the KV. */
  #liveRecord(): WireRecord | null {
    const held = this.state.records.get(this.id) ?? null;
    const last = this.#ordered.at(-1)?.record ?? null;
    if (held && last) return held.revision >= last.revision ? held : last;
    return held ?? last;
  }

  /** Redraws; `animate` says why: a live event ("live") or a scrub step ("scrub") animates the arrival. */
  #render(animate: "live" | "scrub" | null): void {
    const live = this.#liveRecord();
    this.#actions.update(live);
    const index = this.#timeline.selected;
    const scrubbed = index === null ? null : (this.#ordered[index] ?? null);
    const record = scrubbed ? scrubbed.record : live;
    const notFound = record === null && this.#historyLoaded && this.state.loaded;
    this.#notFound.hidden = !notFound;
    this.#record.element.hidden = notFound;
    this.#timeline.element.hidden = notFound;
    if (!record) return;

    replaceChildren(this.#badge, stateBadge(record.state));
    setText(this.#subtitle, `${record.template} · ${record.nodeId} · revision ${record.revision}`);
    if (scrubbed) {
      replaceChildren(
        this.#banner,
        h("span", {}, `Showing revision ${scrubbed.revision} (${scrubbed.event}) as it was at ${formatClock(scrubbed.at)}. `),
        h("button", { type: "button", class: "btn btn-small", onclick: () => this.#backToLive() }, "Back to live"),
      );
    }
    this.#banner.hidden = scrubbed === null;
    this.#record.show(record, scrubbed ? scrubbed.at : this.state.now());

    const event = scrubbed ?? this.#ordered.at(-1) ?? null;
    // The arrow is known only when the newest event is the record shown (not when the KV is ahead of the history).
    const via: Arrival | null = event && event.revision === record.revision ? { from: event.from, to: event.to, event: event.event } : null;
    this.#chart?.show(record.state, via, animate !== null);
  }

  #backToLive(): void {
    this.#timeline.select(null);
    this.#render(null);
  }
}

function legend(): HTMLElement {
  return h(
    "div",
    { class: "legend" },
    h("span", { class: "legend-item" }, h("span", { class: "legend-swatch current" }), "current state"),
    h("span", { class: "legend-item" }, h("span", { class: "legend-swatch taken" }), "last transition"),
  );
}
