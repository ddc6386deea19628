/**
 * Pause, resume, kill and set timeout: each asks for confirmation, then goes
 * through the UI server to the Corral API. A refusal is shown as the
 * contract's error code and message, exactly as the API answered it (the UI
 * validates nothing itself, so it can never disagree with the API).
 */
import type { UiAction, WireRecord, WireState } from "../../wire.js";
import { ApiError, postAction } from "../api.js";
import { h, replaceChildren } from "../dom.js";
import { msToSeconds } from "../format.js";
import { confirmAction, type ConfirmOptions } from "./dialog.js";
import { toast } from "./toast.js";

interface ActionSpec {
  action: UiAction;
  label: string;
  /** States in which the action makes sense; the button is disabled in the others. */
  enabledIn: readonly WireState[];
  danger?: boolean;
  confirm: (record: WireRecord) => ConfirmOptions;
  /** The request body from the dialog's field. */
  body?: (value: string) => Record<string, unknown>;
  done: string;
}

const SPECS: ActionSpec[] = [
  {
    action: "pause",
    label: "Pause",
    enabledIn: ["running"],
    confirm: (r) => ({ title: "Pause sandbox?", message: `${r.sandboxId} will be paused; its deadline stops until it is resumed.`, confirmLabel: "Pause" }),
    done: "Paused",
  },
  {
    action: "resume",
    label: "Resume",
    enabledIn: ["paused"],
    confirm: (r) => ({ title: "Resume sandbox?", message: `${r.sandboxId} will be resumed with a fresh deadline of its timeout.`, confirmLabel: "Resume" }),
    done: "Resumed",
  },
  {
    action: "set_timeout",
    label: "Set timeout…",
    enabledIn: ["starting", "running", "pausing", "paused", "resuming"],
    confirm: (r) => ({
      title: "Set timeout",
      message: `The deadline of ${r.sandboxId} becomes now + this many seconds (0 expires it now).`,
      confirmLabel: "Set timeout",
      input: { label: "Timeout", value: String(msToSeconds(r.timeoutMs)), suffix: "seconds" },
    }),
    // Seconds as typed; the API judges the number (and answers invalid_argument for a bad one).
    body: (value) => ({ timeoutMs: value.trim() === "" ? null : Number(value) * 1000 }),
    done: "Timeout set",
  },
  {
    action: "kill",
    label: "Kill",
    enabledIn: ["starting", "running", "pausing", "paused", "resuming"],
    danger: true,
    confirm: (r) => ({ title: "Kill sandbox?", message: `${r.sandboxId} and its processes will be removed. This cannot be undone.`, confirmLabel: "Kill", danger: true }),
    done: "Killed",
  },
];

/** The action buttons of one sandbox, with the last refusal under them. */
export class ActionBar {
  readonly element: HTMLElement;
  readonly #buttons = new Map<UiAction, HTMLButtonElement>();
  readonly #error = h("div", { class: "action-error", role: "alert", hidden: true });
  #record: WireRecord | null = null;
  #busy = false;

  constructor() {
    const group = h("div", { class: "actions", role: "group", "aria-label": "Actions" });
    for (const spec of SPECS) {
      const button = h(
        "button",
        { type: "button", class: spec.danger ? "btn btn-danger-outline" : "btn", "data-action": spec.action, disabled: true, onclick: () => void this.#run(spec) },
        spec.label,
      );
      this.#buttons.set(spec.action, button);
      group.append(button);
    }
    this.element = h("div", { class: "action-bar" }, group, this.#error);
  }

  /** Enables the buttons that fit `record`'s state. */
  update(record: WireRecord | null): void {
    this.#record = record;
    for (const spec of SPECS) {
      this.#buttons.get(spec.action)!.disabled = this.#busy || record === null || !spec.enabledIn.includes(record.state);
    }
  }

  async #run(spec: ActionSpec): Promise<void> {
    const record = this.#record;
    if (!record) return;
    const answer = await confirmAction(spec.confirm(record));
    if (!answer) return;
    this.#error.hidden = true;
    this.#busy = true;
    this.update(this.#record);
    try {
      const result = await postAction(record.sandboxId, spec.action, spec.body?.(answer.value) ?? {});
      toast(spec.done, `${result.sandboxId} is ${result.state} (revision ${result.revision}).`);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError("internal", String(err));
      // Shown next to the buttons until the next action (no toast: one place, and it stays).
      replaceChildren(this.#error, h("code", { class: "error-code" }, e.code), " ", e.message);
      this.#error.hidden = false;
    } finally {
      this.#busy = false;
      this.update(this.#record);
    }
  }
}
