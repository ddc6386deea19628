/** Short notices in the corner: an action's result. */
import { h } from "../dom.js";

const SHOW_MS = 3500;

/** Shows a notice for a few seconds (it can be dismissed). */
export function toast(title: string, message: string): void {
  const host = document.getElementById("toasts");
  if (!host) return;
  const el = h("div", { class: "toast", role: "status" }, h("div", { class: "toast-title" }, title), h("div", { class: "toast-body" }, message));
  const close = () => el.remove();
  el.append(h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", onclick: close }, "×"));
  host.append(el);
  setTimeout(close, SHOW_MS);
}
