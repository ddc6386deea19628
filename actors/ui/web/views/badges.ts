/** Small shared pieces: the state badge (colored by state in app.css) and metadata chips. */
import type { WireState } from "../../wire.js";
import { h, type Child } from "../dom.js";

/** A pill naming `state`. */
export function stateBadge(state: WireState): HTMLSpanElement {
  return h("span", { class: `badge state-${state}`, "data-state": state }, state);
}

/** Metadata as `key=value` chips (or a dash). */
export function metadataChips(metadata: Record<string, string>): Child {
  const entries = Object.entries(metadata);
  if (entries.length === 0) return h("span", { class: "muted" }, "—");
  return h("span", { class: "chips" }, ...entries.map(([k, v]) => h("span", { class: "chip", title: `${k}=${v}` }, h("span", { class: "chip-key" }, k), "=", v)));
}
