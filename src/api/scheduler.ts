/**
 * Placement: which live nodes can admit a sandbox, best first. Pure: the
 * caller supplies the node records (valid leases only) and tries candidates
 * in order, falling through to the next when one fails or times out.
 */
import { shortfall } from "../capacity.js";
import type { NodeRecord } from "../store/node-registry.js";
import type { Resources } from "../schema/record.js";

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

/**
 * Orders nodes by free capacity after placement (spreading load); ties go to
 * the node with fewer sandboxes, then by id for determinism. A node is a
 * candidate exactly when its own admission (the same `shortfall`) would take
 * the sandbox on the numbers of its last heartbeat and is neither draining
 * nor stopping.
 */
export function placeSandbox(nodes: readonly NodeRecord[], need: Resources): Placement {
  const candidates: NodeRecord[] = [];
  const shortfalls: string[] = [];
  for (const node of nodes) {
    // A draining or stopping node admits nothing new (DESIGN.md "Cluster", Drain).
    if (node.drain || node.stoppingAt !== undefined) {
      shortfalls.push(`node ${node.nodeId}: ${node.drain ? "draining" : "stopping"}`);
      continue;
    }
    const short = shortfall(node.capacity, node.allocation, need);
    if (short) shortfalls.push(`node ${node.nodeId}: ${short}`);
    else candidates.push(node);
  }
  candidates.sort(
    (a, b) => headroom(b, need) - headroom(a, need) || a.allocation.sandboxes - b.allocation.sandboxes || a.nodeId.localeCompare(b.nodeId),
  );
  return { candidates, shortfalls };
}
