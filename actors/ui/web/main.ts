/**
 * The visualizer's entry point: one live feed for the whole page, a hash
 * router between the cluster view (`#/`) and a sandbox view
 * (`#/sandbox/<id>`), and the connection indicator in the top bar.
 */
import { h, replaceChildren, setText } from "./dom.js";
import { filterFromQuery } from "./filters.js";
import { connectLive } from "./live.js";
import { ClusterState, type Connection } from "./state.js";
import { ClusterView } from "./views/cluster.js";
import { SandboxView } from "./views/sandbox.js";

const state = new ClusterState();
const app = document.getElementById("app")!;
const crumbs = document.getElementById("crumbs")!;
const indicator = document.getElementById("connection")!;

const CONNECTION_TEXT: Record<Connection, string> = {
  connecting: "Connecting…",
  live: "Live",
  "reconnecting-ui": "Reconnecting to the UI server…",
  "reconnecting-nats": "NATS unavailable, reconnecting…",
};

function showConnection(): void {
  const c = state.connection;
  indicator.dataset.connection = c.startsWith("reconnecting") ? "reconnecting" : c;
  indicator.title = c === "live" ? "Receiving every transition as it happens" : "Showing the last known state; it refreshes once the connection is back";
  setText(indicator.querySelector(".text")!, CONNECTION_TEXT[c]);
  document.body.classList.toggle("stale", c.startsWith("reconnecting"));
}

let view: { element: HTMLElement; dispose(): void } | null = null;

function route(): void {
  const hash = location.hash.replace(/^#/, "") || "/";
  const [path = "/", query = ""] = hash.split("?");
  view?.dispose();
  const sandbox = /^\/sandbox\/([^/]+)$/.exec(path);
  if (sandbox) {
    const id = decodeURIComponent(sandbox[1]!);
    view = new SandboxView(id, state);
    replaceChildren(crumbs, h("a", { href: "#/" }, "Cluster"), h("span", { class: "sep" }, "/"), h("span", { class: "mono" }, id));
    document.title = `${id} · Corral`;
  } else {
    view = new ClusterView(state, filterFromQuery(new URLSearchParams(query)));
    replaceChildren(crumbs, h("span", {}, "Cluster"));
    document.title = "Corral";
  }
  replaceChildren(app, view.element);
  window.scrollTo(0, 0);
}

state.subscribe((change) => {
  if (change.kind === "connection" || change.kind === "snapshot") showConnection();
});
window.addEventListener("hashchange", route);
connectLive(state);
showConnection();
route();
