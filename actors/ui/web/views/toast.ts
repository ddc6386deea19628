/** Short notices in the corner: an action's result, or its error as the contract's code and message. */
import { h } from "../dom.js";

const SHOW_MS = { ok: 3500, error: 8000 } as const;

/** Shows a notice; errors stay longer and can be dismissed. */
export function toast(kind: "ok" | "error", title: string, message: string, code?: string): void {
  const host = document.getElementById("toasts");
  if (!host) return;
  const el = h(
    "div",
    { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    h("div", { class: "toast-title" }, title),
    h("div", { class: "toast-body" }, code ? h("code", { class: "error-code" }, code) : null, code ? " " : null, message),
  );
  const close = () => el.remove();
  el.append(h("button", { class: "toast-close", type: "button", "aria-label": "Dismiss", onclick: close }, "×"));
  host.append(el);
  setTimeout(close, SHOW_MS[kind]);
}
