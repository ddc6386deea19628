/**
 * The confirmation every action goes through: a modal `<dialog>` that names
 * the action and the sandbox, optionally with one number field (set timeout).
 * Resolves with the field's value on confirm and null on cancel or Escape.
 */
import { h } from "../dom.js";

/** What the dialog asks. */
export interface ConfirmOptions {
  title: string;
  message: string;
  confirmLabel: string;
  /** Red confirm button (kill). */
  danger?: boolean;
  /** A number field, e.g. seconds for set timeout. */
  input?: { label: string; value: string; suffix: string };
}

/** Opens the dialog; resolves once it is answered. `value` is the field's text ("" without a field). */
export function confirmAction(options: ConfirmOptions): Promise<{ value: string } | null> {
  const field = options.input
    ? h("input", { type: "number", step: "1", name: "value", value: options.input.value, required: true, "aria-label": options.input.label })
    : null;
  const confirm = h("button", { type: "submit", value: "confirm", class: options.danger ? "btn btn-danger" : "btn btn-primary" }, options.confirmLabel);
  const form = h(
    "form",
    { method: "dialog" },
    h("h2", {}, options.title),
    h("p", {}, options.message),
    options.input && field ? h("label", { class: "dialog-field" }, h("span", {}, options.input.label), field, h("span", { class: "suffix" }, options.input.suffix)) : null,
    h("div", { class: "dialog-buttons" }, confirm, h("button", { type: "submit", value: "cancel", class: "btn", formnovalidate: true }, "Cancel")),
  );
  const dialog = h("dialog", { class: "confirm" }, form);
  document.body.append(dialog);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const confirmed = dialog.returnValue === "confirm";
      dialog.remove();
      resolve(confirmed ? { value: field?.value ?? "" } : null);
    });
    dialog.showModal();
    (field ?? confirm).focus();
    field?.select();
  });
}
