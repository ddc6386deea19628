/**
 * The state chart as SVG, drawn from the server's elk layout of the machine
 * definition exported by `machines/sandbox` (never a hand-drawn copy). It
 * marks the current state, the arrow that led there (and the label line of
 * the transition taken), and animates a live transition: the arrow is traced
 * and a token travels along it into the new state.
 */
import type { ChartEdge, ChartLayout, ChartNode, WireState } from "../../wire.js";
import { matchingLines, roundedPath } from "../chart-geometry.js";
import { s } from "../dom.js";

/** How a state was reached: the broadcast's from, to and write name. */
export interface Arrival {
  from: WireState | null;
  to: WireState;
  event: string;
}

interface EdgeEntry {
  edge: ChartEdge;
  group: SVGGElement;
  path: SVGPathElement;
  lines: SVGTextElement[];
}

const LINE_HEIGHT = 14;
const TRACE_MS = 650;

/** The chart of one machine; `show` moves the highlight. */
export class StateChart {
  readonly element: SVGSVGElement;
  readonly #states = new Map<WireState, SVGGElement>();
  /** The internal-event lines of each state (`SET_TIMEOUT [hasTtl]` in running, ...). */
  readonly #internal = new Map<WireState, SVGTextElement[]>();
  readonly #edges: EdgeEntry[] = [];
  #initialArrow: SVGGElement | null = null;

  constructor(layout: ChartLayout) {
    const pad = 8;
    // Room above the initial state for the initial-state marker.
    const top = Math.min(-pad, ...layout.nodes.filter((n) => n.initial).map((n) => n.y - 36));
    this.element = s("svg", {
      class: "chart",
      viewBox: `${-pad} ${top} ${layout.width + 2 * pad} ${layout.height + pad - top}`,
      role: "img",
      "aria-label": `State chart of the ${layout.machineId} machine`,
      "data-machine": layout.machineId,
    });
    this.element.append(this.#defs());
    for (const edge of layout.edges) this.element.append(this.#edge(edge));
    const initial = layout.nodes.find((n) => n.initial);
    if (initial) this.element.append((this.#initialArrow = this.#initial(initial)));
    for (const node of layout.nodes) this.element.append(this.#state(node));
  }

  /** Every state drawn, in the machine's order. */
  get states(): WireState[] {
    return [...this.#states.keys()];
  }

  /** Highlights `state` (and the arrow of `via`); animates the arrival when `animate`. */
  show(state: WireState | null, via: Arrival | null, animate: boolean): void {
    for (const [id, g] of this.#states) {
      g.classList.toggle("current", id === state);
      if (id === state) g.setAttribute("aria-current", "step");
      else g.removeAttribute("aria-current");
    }
    this.#initialArrow?.classList.toggle("taken", via !== null && via.from === null);
    let taken: EdgeEntry | undefined;
    for (const entry of this.#edges) {
      const isTaken = via !== null && entry.edge.source === via.from && entry.edge.target === via.to;
      entry.group.classList.toggle("taken", isTaken);
      const lines = isTaken ? matchingLines(entry.edge.transitions.map((t) => t.label), via.event) : [];
      entry.lines.forEach((line, i) => line.classList.toggle("taken", lines.includes(i)));
      if (isTaken) taken = entry;
    }
    // A write that is not a transition (set_timeout, refresh) names the state's internal event it took.
    for (const [id, lines] of this.#internal) {
      const hits = via !== null && via.from === id && via.to === id ? matchingLines(lines.map((l) => l.textContent ?? ""), via.event) : [];
      lines.forEach((line, i) => line.classList.toggle("taken", hits.includes(i)));
    }
    if (!animate || state === null) return;
    if (taken && taken.edge.source !== taken.edge.target) this.#trace(taken.path);
    this.#pulse(this.#states.get(state));
  }

  #defs(): SVGDefsElement {
    const arrow = (id: string) =>
      s("marker", { id, viewBox: "0 0 10 10", refX: "9", refY: "5", markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, s("path", { d: "M0,1 L9,5 L0,9 z" }));
    return s("defs", {}, arrow("arrow"), arrow("arrow-taken"));
  }

  #edge(edge: ChartEdge): SVGGElement {
    const d = roundedPath(edge.points);
    const path = s("path", { class: "edge-line", d, "marker-end": "url(#arrow)" });
    const group = s("g", { class: "edge", "data-source": edge.source, "data-target": edge.target }, path);
    const lines: SVGTextElement[] = [];
    const box = edge.labelBox;
    if (box) {
      group.append(s("rect", { class: "edge-label-bg", x: box.x - 2, y: box.y, width: box.width + 4, height: box.height, rx: 3 }));
      edge.transitions.forEach((t, i) => {
        const line = s("text", { class: "edge-label", x: box.x + 2, y: box.y + 11 + i * LINE_HEIGHT, "data-event": t.event }, t.label);
        lines.push(line);
        group.append(line);
      });
    }
    group.append(s("title", {}, `${edge.source} → ${edge.target}: ${edge.transitions.map((t) => t.label).join(", ")}`));
    this.#edges.push({ edge, group, path, lines });
    return group;
  }

  #initial(node: ChartNode): SVGGElement {
    const x = node.x + node.width / 2;
    return s(
      "g",
      { class: "initial-arrow" },
      s("circle", { cx: x, cy: node.y - 26, r: 5 }),
      s("path", { class: "edge-line", d: `M${x},${node.y - 21} L${x},${node.y}`, "marker-end": "url(#arrow)" }),
    );
  }

  #state(node: ChartNode): SVGGElement {
    const g = s("g", { class: `state state-${node.id}${node.final ? " final" : ""}`, "data-state": node.id, transform: `translate(${node.x},${node.y})` });
    g.append(s("rect", { class: "state-box", width: node.width, height: node.height, rx: 10 }));
    if (node.final) g.append(s("rect", { class: "state-final-ring", x: 3, y: 3, width: node.width - 6, height: node.height - 6, rx: 8 }));
    g.append(s("text", { class: "state-name", x: node.width / 2, y: 25, "text-anchor": "middle" }, node.id));
    if (node.internal.length > 0) {
      g.append(s("line", { class: "state-rule", x1: 0, x2: node.width, y1: 40, y2: 40 }));
      const lines = node.internal.map((label, i) => s("text", { class: "state-internal", x: 10, y: 40 + 4 + 11 + i * LINE_HEIGHT }, label));
      g.append(...lines);
      this.#internal.set(node.id, lines);
    }
    g.append(s("title", {}, node.internal.length > 0 ? `${node.id}; handled in place: ${node.internal.join(", ")}` : node.id));
    this.#states.set(node.id, g);
    return g;
  }

  /** Draws the arrow on from its source and sends a token along it. */
  #trace(path: SVGPathElement): void {
    const length = path.getTotalLength();
    const trail = path.cloneNode() as SVGPathElement;
    trail.setAttribute("class", "edge-trace");
    trail.removeAttribute("marker-end");
    trail.style.strokeDasharray = `${length}`;
    trail.style.strokeDashoffset = `${length}`;
    const token = s("circle", { class: "edge-token", r: 5 }, s("animateMotion", { dur: `${TRACE_MS}ms`, fill: "freeze", path: path.getAttribute("d") ?? "", begin: "indefinite" }));
    path.parentNode?.append(trail, token);
    // Two frames: the first commits the start offset, the second starts the transition from it.
    requestAnimationFrame(() =>
      requestAnimationFrame(() => {
        trail.style.transition = `stroke-dashoffset ${TRACE_MS}ms ease-in-out`;
        trail.style.strokeDashoffset = "0";
        (token.firstChild as SVGAnimationElement).beginElement();
      }),
    );
    setTimeout(() => {
      trail.remove();
      token.remove();
    }, TRACE_MS + 900);
  }

  #pulse(g: SVGGElement | undefined): void {
    if (!g) return;
    g.classList.remove("pulse");
    // Reading layout restarts the CSS animation when the class is added again.
    void g.getBoundingClientRect();
    g.classList.add("pulse");
  }
}
