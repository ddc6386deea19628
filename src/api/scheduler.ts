/**
 * Placement: which live nodes can admit a sandbox, best first. Pure: the
 * caller supplies the node records (valid leases only) and tries candidates
 * in order, falling through to the next when one fails or times out.
 */
import { evictionsNeeded, shortfall } from "../capacity.js";
import type { NodeRecord } from "../store/node-registry.js";
import type { Resources } from "../schema/record.js";
import { DEFAULT_RESOURCES } from "./resolve-create.js";

export interface Placement {
  /** Nodes with room, most free capacity first. */
  candidates: NodeRecord[];
  /** Why each other node was skipped, e.g. `node node-2: needs 512 MiB memory, 256 free`. */
  shortfalls: string[];
}

/** Free fraction of the scarcer of cpu and memory after placing `need`. */
function headroom(node: NodeRecord, need: Resources): number {
  const cpu = (node.capacity.cpu - node.allocation.cpu - need.cpu) / node.capacity.cpu;
  const mem = (node.capacity.memoryMB - node.allocation.memoryMB - need.memoryMB) / node.capacity.memoryMB;
  return Math.min(cpu, mem);
}

/** Ready warm members of `template` on `node` (0 when the create cannot take one: `template` undefined). */
function warmReady(node: NodeRecord, template: string | undefined): number {
  return template === undefined ? 0 : (node.warm?.[template] ?? 0);
}

/**
 * The template whose warm member a create could take (DESIGN.md "Warm pool"):
 * no `env` and the default resources (members are made with those); else undefined.
 */
export function warmTemplateOf(spec: { template: string; env: Record<string, string>; resources: Resources }, defaults: Resources): string | undefined {
  const plain = Object.keys(spec.env).length === 0 && spec.resources.cpu === defaults.cpu && spec.resources.memoryMB === defaults.memoryMB;
  return plain ? spec.template : undefined;
}

/** Warm members on `node` a create that takes none may evict: ready ones of every template, and those being started. */
function warmTotal(node: NodeRecord): number {
  return Object.values(node.warm ?? {}).reduce((a, b) => a + b, node.warmStarting ?? 0);
}

/**
 * Nodes with a ready warm member of `warmTemplate` (when given: a create
 * that can take one) come first; then nodes where the sandbox fits without
 * evicting a member; then free capacity after placement (spreading load);
 * ties go to the node with fewer sandboxes, then by id for determinism. A
 * node is a candidate exactly when its own admission would take the sandbox
 * on the numbers of its last heartbeat (the same `shortfall`): a ready
 * member of the template counts as free, since the sandbox takes its
 * reservation over, and so do ready members of any template for any other
 * create, since the node evicts them to make room (`evictionsNeeded`;
 * members are made with `memberResources`). Draining and stopping nodes are
 * never candidates.
 */
export function placeSandbox(nodes: readonly NodeRecord[], need: Resources, warmTemplate?: string, memberResources: Resources = DEFAULT_RESOURCES): Placement {
  const candidates: NodeRecord[] = [];
  const shortfalls: string[] = [];
  const evicts = new Map<NodeRecord, boolean>();
  for (const node of nodes) {
    // A draining or stopping node admits nothing new (DESIGN.md "Cluster", Drain).
    if (node.drain || node.stoppingAt !== undefined) {
      shortfalls.push(`node ${node.nodeId}: ${node.drain ? "draining" : "stopping"}`);
      continue;
    }
    if (warmReady(node, warmTemplate) > 0) {
      candidates.push(node);
      evicts.set(node, false);
      continue;
    }
    const n = evictionsNeeded(node.capacity, node.allocation, need, memberResources, warmTotal(node));
    if (n === null) shortfalls.push(`node ${node.nodeId}: ${shortfall(node.capacity, node.allocation, need)}`);
    else {
      candidates.push(node);
      evicts.set(node, n > 0);
    }
  }
  const rank = (n: NodeRecord) => (warmReady(n, warmTemplate) > 0 ? 0 : evicts.get(n) ? 2 : 1);
  candidates.sort(
    (a, b) => rank(a) - rank(b) || headroom(b, need) - headroom(a, need) || a.allocation.sandboxes - b.allocation.sandboxes || a.nodeId.localeCompare(b.nodeId),
  );
  return { candidates, shortfalls };
}
