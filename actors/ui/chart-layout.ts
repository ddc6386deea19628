/**
 * Lays the machine graph out with elkjs (layered) on the server, so the
 * browser only draws boxes and polylines and ships no layout engine.
 * Transitions between the same two states share one arrow with one label
 * line per transition: the sandbox machine has up to three ways from one
 * state to another (e.g. running -> killing by KILL, TIMEOUT or a remembered
 * kill), and three parallel arrows would only add clutter.
 */
import elkBundled from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { GraphEdge, MachineGraph } from "./machine-graph.js";
import type { ChartEdge, ChartLayout, ChartNode, ChartTransition, WireState } from "./wire.js";

/** Box metrics; the browser's CSS draws state names at 14px and the rest at 11px, so these must match app.css. */
export const CHART_METRICS = {
  /** Height of a state box without internal events. */
  nodeHeight: 40,
  /** Height of one internal-event line inside a state box. */
  internalLineHeight: 14,
  /** Height of one label line of an arrow. */
  labelLineHeight: 14,
  /** Average advance of one 11px monospace character. */
  smallCharWidth: 6.8,
  /** Average advance of one 14px character of a state name. */
  nameCharWidth: 9,
} as const;

// elk.bundled.js is CommonJS whose exports carry the constructor as `default`.
const ELK = elkBundled.default;

const LAYOUT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "ORTHOGONAL",
  "elk.layered.edgeLabels.sideSelection": "ALWAYS_UP",
  "elk.spacing.nodeNode": "40",
  "elk.layered.spacing.nodeNodeBetweenLayers": "36",
  "elk.layered.spacing.edgeNodeBetweenLayers": "16",
  "elk.spacing.edgeLabel": "4",
  "elk.spacing.edgeEdge": "14",
  "elk.layered.nodePlacement.strategy": "NETWORK_SIMPLEX",
  "elk.layered.considerModelOrder.strategy": "NODES_AND_EDGES",
  "elk.padding": "[top=16,left=16,bottom=16,right=16]",
};

function textWidth(text: string, charWidth: number): number {
  return Math.ceil(text.length * charWidth);
}

function nodeWidth(id: string, internal: string[]): number {
  const { nameCharWidth, smallCharWidth } = CHART_METRICS;
  return Math.max(112, textWidth(id, nameCharWidth) + 40, ...internal.map((s) => textWidth(s, smallCharWidth) + 20));
}

/** Groups transitions by (source, target), keeping the machine's order. */
function groupEdges(edges: GraphEdge[]): { source: string; target: string; transitions: ChartTransition[] }[] {
  const groups = new Map<string, { source: string; target: string; transitions: ChartTransition[] }>();
  for (const e of edges) {
    const key = `${e.source}\u0000${e.target}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { source: e.source, target: e.target, transitions: [] }));
    group.transitions.push({ event: e.event, guard: e.guard, label: e.label });
  }
  return [...groups.values()];
}

/** Computes positions for every state and a routed polyline plus label box for every arrow. */
export async function layoutChart(graph: MachineGraph): Promise<ChartLayout> {
  const { nodeHeight, internalLineHeight, labelLineHeight, smallCharWidth } = CHART_METRICS;
  const groups = groupEdges(graph.edges);
  const edges: ElkExtendedEdge[] = groups.map((g, i) => ({
    id: `e${i}`,
    sources: [g.source],
    targets: [g.target],
    labels: [
      {
        id: `e${i}-label`,
        text: g.transitions.map((t) => t.label).join("\n"),
        width: Math.max(...g.transitions.map((t) => textWidth(t.label, smallCharWidth))) + 8,
        height: g.transitions.length * labelLineHeight + 2,
      },
    ],
  }));
  const input: ElkNode = {
    id: graph.machineId,
    layoutOptions: LAYOUT_OPTIONS,
    children: graph.nodes.map((n) => ({
      id: n.id,
      width: nodeWidth(n.id, n.internal),
      // Internal events are listed inside the box, one line each, under a rule.
      height: nodeHeight + (n.internal.length > 0 ? n.internal.length * internalLineHeight + 8 : 0),
    })),
    edges,
  };
  const out = await new ELK().layout(input);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes: ChartNode[] = (out.children ?? []).map((c) => {
    const n = byId.get(c.id)!;
    return { id: c.id as WireState, x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0, initial: n.initial, final: n.final, internal: n.internal };
  });
  const laidEdges = new Map((out.edges ?? []).map((e) => [e.id, e as ElkExtendedEdge]));
  const chartEdges: ChartEdge[] = groups.map((g, i) => {
    const laid = laidEdges.get(`e${i}`);
    const points = (laid?.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    const label = laid?.labels?.[0];
    return {
      id: `e${i}`,
      source: g.source as WireState,
      target: g.target as WireState,
      transitions: g.transitions,
      points: points.map((p) => ({ x: p.x, y: p.y })),
      labelBox: label ? { x: label.x ?? 0, y: label.y ?? 0, width: label.width ?? 0, height: label.height ?? 0 } : null,
    };
  });
  return { machineId: graph.machineId, initial: graph.initial as WireState, width: out.width ?? 0, height: out.height ?? 0, nodes, edges: chartEdges };
}
