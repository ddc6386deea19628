/**
 * The sandbox's history as a timeline: every event from CORRAL_EVENTS in
 * revision order, a scrubber over them, and the selected revision's record
 * diff. Selecting an older revision "scrubs": the owner then shows the chart
 * and the record as they were at that moment. The end of the scrubber is
 * "live" (follows new events).
 */
import type { WireEvent } from "../../wire.js";
import { diffRecords } from "../diff.js";
import { formatClock, formatGap } from "../format.js";
import { h, replaceChildren, setText } from "../dom.js";
import { formatValue } from "../values.js";

/** The timeline; `onSelect(null)` means back to live. */
export class Timeline {
  readonly element: HTMLElement;
  #events: WireEvent[] = [];
  #selected: number | null = null;
  readonly #list = h("ol", { class: "timeline-list", "aria-label": "Events" });
  readonly #slider = h("input", { type: "range", class: "scrubber", min: "0", max: "0", value: "0", step: "1", "aria-label": "Scrub history" });
  readonly #count = h("span", { class: "muted" });
  readonly #live = h("button", { type: "button", class: "btn btn-small live-button", title: "Follow new events" }, "Live");
  readonly #prev = h("button", { type: "button", class: "btn btn-small", "aria-label": "Previous event", title: "Previous event" }, "‹");
  readonly #next = h("button", { type: "button", class: "btn btn-small", "aria-label": "Next event", title: "Next event" }, "›");
  readonly #diff = h("div", { class: "diff" });
  readonly #omitted = h("p", { class: "muted small", hidden: true });

  constructor(private readonly onSelect: (index: number | null) => void) {
    this.#slider.addEventListener("input", () => this.#pick(Number(this.#slider.value)));
    this.#live.addEventListener("click", () => this.#pick(null));
    this.#prev.addEventListener("click", () => this.#pick(Math.max(0, (this.#selected ?? this.#events.length - 1) - 1)));
    this.#next.addEventListener("click", () => this.#pick((this.#selected ?? this.#events.length - 1) + 1));
    this.element = h(
      "section",
      { class: "card timeline-card", "aria-label": "History" },
      h("div", { class: "card-head" }, h("h2", {}, "History ", this.#count), h("div", { class: "scrub-controls" }, this.#prev, this.#next, this.#live)),
      this.#slider,
      this.#omitted,
      this.#list,
      this.#diff,
    );
  }

  /** The selected index, or null when live. */
  get selected(): number | null {
    return this.#selected;
  }

  /** Replaces the events (oldest first); `omitted` older ones are no longer in the stream. */
  setEvents(events: WireEvent[], omitted = 0): void {
    this.#events = events;
    if (this.#selected !== null && this.#selected >= events.length) this.#selected = null;
    this.#omitted.hidden = omitted === 0;
    setText(this.#omitted, `${omitted} older event${omitted === 1 ? "" : "s"} are no longer kept by CORRAL_EVENTS.`);
    replaceChildren(this.#list, ...events.map((e, i) => this.#item(e, i)));
    this.#render();
  }

  /** Selects `index` (clamped; the last one or null = live) without notifying. */
  select(index: number | null): void {
    this.#selected = index === null || index >= this.#events.length - 1 ? null : Math.max(0, index);
    this.#render();
  }

  #pick(index: number | null): void {
    this.select(index);
    this.onSelect(this.#selected);
  }

  #item(event: WireEvent, index: number): HTMLLIElement {
    const prev = this.#events[index - 1];
    return h(
      "li",
      { class: `timeline-item to-${event.to}`, "data-revision": event.revision, "data-index": index, tabindex: "-1", onclick: () => this.#pick(index) },
      h("span", { class: "tl-dot" }),
      h("span", { class: "tl-rev" }, `#${event.revision}`),
      h("span", { class: "tl-time", title: new Date(event.at).toISOString() }, formatClock(event.at)),
      h("span", { class: "tl-event" }, event.event),
      h("span", { class: "tl-states" }, event.from === event.to ? h("span", { class: "muted" }, event.to) : `${event.from ?? "∅"} → ${event.to}`),
      h("span", { class: "tl-gap muted" }, prev ? formatGap(event.at - prev.at) : ""),
    );
  }

  #render(): void {
    const n = this.#events.length;
    const current = this.#selected ?? n - 1;
    setText(this.#count, n === 0 ? "(no events)" : `(${n} event${n === 1 ? "" : "s"})`);
    this.#slider.max = String(Math.max(0, n - 1));
    this.#slider.value = String(Math.max(0, current));
    this.#slider.disabled = n < 2;
    this.#prev.disabled = n < 2 || current <= 0;
    this.#next.disabled = this.#selected === null;
    this.#live.classList.toggle("active", this.#selected === null);
    this.#live.setAttribute("aria-pressed", String(this.#selected === null));
    for (const li of this.#list.children) {
      const selected = Number((li as HTMLElement).dataset.index) === current;
      li.classList.toggle("selected", selected);
      if (selected) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    }
    const item = this.#list.children[current] as HTMLElement | undefined;
    // Keep the selected event in view inside the list only (never scroll the page).
    if (item) this.#list.scrollTop = Math.max(0, item.offsetTop - this.#list.offsetTop - this.#list.clientHeight / 2 + item.offsetHeight / 2);
    this.#renderDiff(current);
  }

  #renderDiff(index: number): void {
    const event = this.#events[index];
    if (!event) return replaceChildren(this.#diff, h("p", { class: "muted" }, "No events recorded for this sandbox."));
    const prev = this.#events[index - 1] ?? null;
    const changes = diffRecords(prev?.record ?? null, event.record);
    const title = prev ? `Revision ${event.revision}: ${event.event} changed` : `Revision ${event.revision}: ${event.event}, first record kept`;
    replaceChildren(
      this.#diff,
      h("h3", {}, title),
      changes.length === 0
        ? h("p", { class: "muted" }, "No field changed.")
        : h(
            "table",
            { class: "diff-table" },
            h("thead", {}, h("tr", {}, h("th", {}, "field"), prev ? h("th", {}, "before") : null, h("th", {}, prev ? "after" : "value"), prev ? h("th", {}, "") : null)),
            h(
              "tbody",
              {},
              ...changes.map((c) =>
                h(
                  "tr",
                  { "data-path": c.path },
                  h("td", { class: "mono" }, c.path),
                  prev ? h("td", { class: "mono before" }, formatValue(c.path, c.before)) : null,
                  h("td", { class: prev ? "mono after" : "mono" }, formatValue(c.path, c.after)),
                  prev ? h("td", { class: "note" }, c.note ?? "") : null,
                ),
              ),
            ),
          ),
    );
  }
}
