/**
 * Lays the machine graph out with elkjs (layered, top-down) on the server, so
 * the browser only draws boxes and polylines and ships no layout engine.
 */
import elkBundled from "elkjs/lib/elk.bundled.js";
import type { ElkExtendedEdge, ElkNode } from "elkjs/lib/elk-api.js";
import type { MachineGraph } from "./machine-graph.js";
import type { ChartEdge, ChartLayout, ChartNode, WireState } from "./wire.js";

const NODE_HEIGHT = 44;
const CHAR_WIDTH = 7; // ~ 12px monospace, as the browser draws labels
const LABEL_HEIGHT = 14;

// elk.bundled.js is CommonJS whose exports carry the constructor as `default`.
const ELK = elkBundled.default;

const LAYOUT_OPTIONS = {
  "elk.algorithm": "layered",
  "elk.direction": "DOWN",
  "elk.edgeRouting": "POLYLINE",
  "elk.edgeLabels.inline": "false",
  "elk.spacing.nodeNode": "48",
  "elk.layered.spacing.nodeNodeBetweenLayers": "56",
  "elk.spacing.edgeLabel": "4",
  "elk.spacing.edgeEdge": "16",
  "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
  "elk.padding": "[top=16,left=16,bottom=16,right=16]",
};

function nodeWidth(id: string, internal: string[]): number {
  return Math.max(110, id.length * 10 + 32, ...internal.map((s) => s.length * 6 + 16));
}

/** Computes positions for every state and a routed polyline plus label box for every transition. */
export async function layoutChart(graph: MachineGraph): Promise<ChartLayout> {
  const elk = new ELK();
  const edges: ElkExtendedEdge[] = graph.edges.map((e, i) => ({
    id: `e${i}`,
    sources: [e.source],
    targets: [e.target],
    labels: [{ id: `e${i}-label`, text: e.label, width: e.label.length * CHAR_WIDTH, height: LABEL_HEIGHT }],
  }));
  const input: ElkNode = {
    id: graph.machineId,
    layoutOptions: LAYOUT_OPTIONS,
    children: graph.nodes.map((n) => ({
      id: n.id,
      width: nodeWidth(n.id, n.internal),
      // Internal events are listed inside the box, one line each.
      height: NODE_HEIGHT + n.internal.length * 13,
    })),
    edges,
  };
  const out = await elk.layout(input);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const nodes: ChartNode[] = (out.children ?? []).map((c) => {
    const n = byId.get(c.id)!;
    return { id: c.id as WireState, x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0, initial: n.initial, final: n.final, internal: n.internal };
  });
  const laidEdges = new Map((out.edges ?? []).map((e) => [e.id, e as ElkExtendedEdge]));
  const chartEdges: ChartEdge[] = graph.edges.map((e, i) => {
    const laid = laidEdges.get(`e${i}`);
    const points = (laid?.sections ?? []).flatMap((s) => [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]);
    const label = laid?.labels?.[0];
    return {
      id: `e${i}`,
      source: e.source as WireState,
      target: e.target as WireState,
      event: e.event,
      label: e.label,
      guard: e.guard,
      points: points.map((p) => ({ x: p.x, y: p.y })),
      labelBox: label ? { x: label.x ?? 0, y: label.y ?? 0, width: label.width ?? 0, height: label.height ?? 0 } : null,
    };
  });
  return { machineId: graph.machineId, initial: graph.initial as WireState, width: out.width ?? 0, height: out.height ?? 0, nodes, edges: chartEdges };
}
