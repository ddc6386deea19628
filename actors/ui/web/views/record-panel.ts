/**
 * The record as an operator reads it: the deadline (counting down live, or as
 * it stood at a scrubbed revision), the lifecycle options, the last driver
 * error and the rest of the record.
 */
import type { WireRecord } from "../../wire.js";
import { h, replaceChildren, setText, type Child } from "../dom.js";
import { formatClock, formatDateTime, formatDuration, formatTimeLeft } from "../format.js";
import { metadataChips, stateBadge } from "./badges.js";

function row(label: string, ...value: Child[]): HTMLElement[] {
  return [h("dt", {}, label), h("dd", {}, ...value)];
}

function yesNo(value: boolean): HTMLElement {
  return h("span", { class: value ? "flag on" : "flag" }, value ? "yes" : "no");
}

/** The record card; `show` redraws it, `tick` only the countdown. */
export class RecordPanel {
  readonly element: HTMLElement;
  readonly #countdown = h("div", { class: "countdown", "data-testid": "countdown" });
  readonly #deadlineNote = h("div", { class: "muted small" });
  readonly #body = h("div", {}, h("p", { class: "muted" }, "Loading the record…"));
  #record: WireRecord | null = null;

  constructor() {
    this.element = h(
      "section",
      { class: "card record-card", "aria-label": "Record" },
      h("div", { class: "deadline" }, h("div", { class: "eyebrow" }, "Time left"), this.#countdown, this.#deadlineNote),
      this.#body,
    );
  }

  /** Shows `record`; `now` is the live server time or, when scrubbed, the moment of that revision. */
  show(record: WireRecord, now: number): void {
    this.#record = record;
    const lc = record.lifecycle;
    replaceChildren(
      this.#body,
      h("h3", {}, "Lifecycle"),
      h(
        "dl",
        { class: "facts" },
        ...row("expiration", h("span", { class: "mono" }, record.expiration)),
        ...row("timeout", formatDuration(record.timeoutMs), h("span", { class: "muted" }, ` (${record.timeoutMs} ms)`)),
        ...row("on timeout", h("span", { class: "mono" }, lc.onTimeout)),
        ...row("auto-resume", yesNo(lc.autoResume)),
        ...row("idle deadline", yesNo(lc.idle)),
      ),
      h("h3", {}, "Last error"),
      record.error
        ? h(
            "div",
            { class: "error-box", "data-testid": "last-error" },
            h("div", {}, h("code", { class: "error-code" }, record.error.op), " ", record.error.message),
            h("div", { class: "muted small" }, formatDateTime(record.error.at)),
          )
        : h("p", { class: "muted", "data-testid": "last-error" }, "None"),
      h("h3", {}, "Record"),
      h(
        "dl",
        { class: "facts" },
        ...row("state", stateBadge(record.state), record.killReason ? h("span", { class: "muted" }, ` (${record.killReason})`) : null),
        ...row("template", h("span", { class: "mono" }, record.template)),
        ...row("node", h("span", { class: "mono" }, record.nodeId)),
        ...row("revision", h("span", { class: "mono", "data-testid": "revision" }, String(record.revision))),
        ...row("created", formatDateTime(record.createdAt)),
        ...row("started", record.startedAt === null ? "—" : formatDateTime(record.startedAt)),
        ...row("last active", record.lastActiveAt === null ? "—" : formatDateTime(record.lastActiveAt)),
        ...row("resources", `${record.resources.cpu} CPU · ${record.resources.memoryMB} MB`),
        ...row("metadata", metadataChips(record.metadata)),
      ),
    );
    this.tick(now);
  }

  /** Updates the countdown to `now`. */
  tick(now: number): void {
    const r = this.#record;
    if (!r) return;
    const text = formatTimeLeft(r.endAt, now, r.state, r.expiration);
    setText(this.#countdown, text);
    this.#countdown.classList.toggle("expired", text === "expired");
    let note: string;
    if (r.endAt !== null) note = `endAt ${formatClock(r.endAt)} · then ${r.lifecycle.onTimeout}`;
    else if (r.state === "killed" || r.state === "killing") note = r.killReason ? `killed: ${r.killReason}` : "no deadline";
    else if (r.expiration === "manual") note = "manual expiration: never times out";
    else if (r.state === "paused") note = "paused: no deadline runs until resumed";
    else note = "no deadline yet";
    setText(this.#deadlineNote, note);
  }
}
