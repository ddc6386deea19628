/**
 * Capacity arithmetic shared by the node's admission (actors/node/capacity.ts)
 * and the API's scheduler (src/api/scheduler.ts): one definition of "fits",
 * so the scheduler never picks a node that its own admission would refuse,
 * and both describe a shortfall in the same words.
 */
import type { Resources } from "./schema/record.js";

/** Capacity / allocation of a node: cores, MiB and sandbox slots. */
export interface Amounts {
  cpu: number;
  memoryMB: number;
  sandboxes: number;
}

/** Rounds away float noise of fractional cpu sums (0.1 + 0.2). */
export function tidy(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}

/**
 * What is short to admit `need` on top of `allocation`, e.g.
 * `needs 512 MiB memory, 256 free`; null when it fits.
 */
export function shortfall(capacity: Amounts, allocation: Amounts, need: Resources): string | null {
  const freeCpu = tidy(capacity.cpu - allocation.cpu);
  const freeMem = capacity.memoryMB - allocation.memoryMB;
  const freeSlots = capacity.sandboxes - allocation.sandboxes;
  const short: string[] = [];
  if (need.cpu > freeCpu + 1e-9) short.push(`needs ${need.cpu} cpu, ${Math.max(0, freeCpu)} free`);
  if (need.memoryMB > freeMem) short.push(`needs ${need.memoryMB} MiB memory, ${Math.max(0, freeMem)} free`);
  if (freeSlots < 1) short.push(`at its limit of ${capacity.sandboxes} sandboxes`);
  return short.length === 0 ? null : short.join(", ");
}

/**
 * How many warm members (each holding `member`) a node must evict to admit
 * `need` (docs/warm-pool.md: members never starve real creates): 0 when it
 * fits already, the fewest that make it fit, or null when even evicting all
 * `evictable` would not. The node's admission and the scheduler both use it.
 */
export function evictionsNeeded(capacity: Amounts, allocation: Amounts, need: Resources, member: Resources, evictable: number): number | null {
  for (let k = 0; k <= evictable; k++) {
    const freed = { cpu: allocation.cpu - k * member.cpu, memoryMB: allocation.memoryMB - k * member.memoryMB, sandboxes: allocation.sandboxes - k };
    if (shortfall(capacity, freed, need) === null) return k;
  }
  return null;
}
