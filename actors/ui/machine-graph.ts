/**
 * Reads the state chart out of an xstate v5 machine definition: its states
 * and every transition, by walking the machine's StateNode tree. The UI draws
 * exactly this, so the picture cannot drift from the machine the node runs.
 */
import type { AnyStateMachine, AnyStateNode } from "xstate";

/** A transition between two states (targetless transitions are `internal` on the state instead). */
export interface GraphEdge {
  source: string;
  target: string;
  /** xstate event type; `always` for eventless transitions. */
  event: string;
  guard: string | null;
  /** The transition's description when it has one (the sandbox machine's moves on a stored write name the contract's row), else `event` in operator terms plus `[guard]`. */
  label: string;
}

/** A state and the events it handles without leaving it. */
export interface GraphNode {
  id: string;
  initial: boolean;
  final: boolean;
  internal: string[];
}

/** The chart as data, in the machine's own state order. */
export interface MachineGraph {
  machineId: string;
  initial: string;
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** `xstate.done.actor.pause` -> `pause done`; `xstate.after.pauseRetryDelay.sandbox.running` -> `after pauseRetryDelay`. */
export function eventLabel(eventType: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(eventType);
  if (done) return `${done[1]} done`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(eventType);
  if (error) return `${error[1]} failed`;
  const after = /^xstate\.after\.([^.]+)\./.exec(eventType);
  if (after) return `after ${after[1]}`;
  return eventType;
}

function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === "string") return guard;
  if (typeof guard === "object" && "type" in guard && typeof guard.type === "string") return guard.type;
  return "guard"; // an inline function guard has no name
}

function withGuard(label: string, guard: string | null): string {
  return guard ? `${label} [${guard}]` : label;
}

/** The top-level states and transitions of `machine` (the sandbox machine is flat: no substates). */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root: AnyStateNode = machine.root;
  const initial = root.initial?.target?.[0]?.key ?? Object.keys(root.states)[0] ?? "";
  const nodes: GraphNode[] = [];
  const edges: GraphEdge[] = [];
  for (const [key, stateNode] of Object.entries(root.states)) {
    const internal: string[] = [];
    const defs = [...[...stateNode.transitions.entries()].flatMap(([event, list]) => list.map((d) => ({ event, d }))), ...(stateNode.always ?? []).map((d) => ({ event: "always", d }))];
    for (const { event, d } of defs) {
      const guard = guardName(d.guard);
      const label = d.description ?? withGuard(eventLabel(event), guard);
      const targets = d.target ?? [];
      if (targets.length === 0) {
        if (!internal.includes(label)) internal.push(label);
        continue;
      }
      for (const target of targets) edges.push({ source: key, target: target.key, event, guard, label });
    }
    nodes.push({ id: key, initial: key === initial, final: stateNode.type === "final", internal });
  }
  return { machineId: machine.id, initial, nodes, edges };
}
