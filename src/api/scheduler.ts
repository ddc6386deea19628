/**
 * Placement: which live nodes can admit a sandbox, best first. Pure: the
 * caller supplies the node records (valid leases only) and tries candidates
 * in order, falling through to the next when one fails or times out.
 */
import type { NodeRecord } from "../store/node-registry.js";
import type { Resources } from "../schema/record.js";

export interface Placement {
  /** Nodes with room, most free capacity first. */
  candidates: NodeRecord[];
  /** Why each other node was skipped, e.g. `node-2: needs 512 MiB memory, 256 free`. */
  shortfalls: string[];
}

/** Free fraction of the scarcer of cpu and memory after placing `need`. */
function headroom(node: NodeRecord, need: Resources): number {
  const cpu = (node.capacity.cpu - node.allocation.cpu - need.cpu) / node.capacity.cpu;
  const mem = (node.capacity.memoryMB - node.allocation.memoryMB - need.memoryMB) / node.capacity.memoryMB;
  return Math.min(cpu, mem);
}

function shortfallOf(node: NodeRecord, need: Resources): string | null {
  const freeCpu = node.capacity.cpu - node.allocation.cpu;
  const freeMem = node.capacity.memoryMB - node.allocation.memoryMB;
  const freeSlots = node.capacity.sandboxes - node.allocation.sandboxes;
  const short: string[] = [];
  if (need.cpu > freeCpu + 1e-9) short.push(`needs ${need.cpu} cpu, ${round(freeCpu)} free`);
  if (need.memoryMB > freeMem) short.push(`needs ${need.memoryMB} MiB memory, ${freeMem} free`);
  if (freeSlots < 1) short.push(`at its limit of ${node.capacity.sandboxes} sandboxes`);
  return short.length === 0 ? null : `${node.nodeId}: ${short.join(", ")}`;
}

const round = (n: number) => Math.round(n * 100) / 100;

/**
 * Orders nodes by free capacity after placement (spreading load); ties go to
 * the node with fewer sandboxes, then by id for determinism.
 */
export function placeSandbox(nodes: readonly NodeRecord[], need: Resources): Placement {
  const candidates: NodeRecord[] = [];
  const shortfalls: string[] = [];
  for (const node of nodes) {
    const short = shortfallOf(node, need);
    if (short) shortfalls.push(short);
    else candidates.push(node);
  }
  candidates.sort(
    (a, b) => headroom(b, need) - headroom(a, need) || a.allocation.sandboxes - b.allocation.sandboxes || a.nodeId.localeCompare(b.nodeId),
  );
  return { candidates, shortfalls };
}
