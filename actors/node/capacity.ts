/**
 * Capacity accounting of one node: what it admits (`capacity`), what its
 * sandboxes hold now (`allocation`), and how many sandboxes are in each
 * state. Pure and incremental: every state change moves one sandbox's
 * resources between buckets, so a heartbeat never walks the sandboxes.
 *
 * Which states hold quota: every live state except `paused` in `stop` mode
 * (its memory is released: the container is stopped); a `freeze` pause keeps
 * the memory, so it keeps its quota. `killed` holds nothing.
 */
import type { PauseMode } from "../../src/drivers/types.js";
import type { Resources, SandboxState } from "../../src/schema/record.js";

/** Capacity / allocation of a node: cores, MiB and sandbox slots. */
export interface Amounts {
  cpu: number;
  memoryMB: number;
  sandboxes: number;
}

/** True when a sandbox in `state` counts against the node's capacity. */
export function holdsQuota(state: SandboxState, pauseMode: PauseMode): boolean {
  if (state === "killed") return false;
  if (state === "paused") return pauseMode === "freeze";
  return true;
}

/** Rounds away float noise of fractional cpu sums (0.1 + 0.2). */
function tidy(n: number): number {
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

/** A node's running totals: allocation (quota holders + reservations) and counts by state. */
export class CapacityLedger {
  readonly #allocation: Amounts = { cpu: 0, memoryMB: 0, sandboxes: 0 };
  readonly #counts = new Map<SandboxState, number>();

  /** Called after every allocation change (the lease writes early). Must not block. */
  onChange: (() => void) | null = null;

  constructor(
    readonly capacity: Amounts,
    readonly pauseMode: PauseMode,
  ) {}

  /** A copy of what is allocated now. */
  get allocation(): Amounts {
    return { ...this.#allocation, cpu: tidy(this.#allocation.cpu) };
  }

  /** Sandboxes per state (states with none are omitted). */
  counts(): Partial<Record<SandboxState, number>> {
    const out: Partial<Record<SandboxState, number>> = {};
    for (const [state, n] of this.#counts) if (n > 0) out[state] = n;
    return out;
  }

  /** What is short to admit `need` now; null when it fits. */
  shortfall(need: Resources): string | null {
    return shortfall(this.capacity, this.#allocation, need);
  }

  /**
   * Admission: reserves `need` if it fits and returns a release function
   * (idempotent), else returns the shortfall text. Check and reserve happen in
   * one synchronous step, so concurrent creates cannot both take the last slot.
   */
  reserve(need: Resources): { ok: true; release: () => void } | { ok: false; short: string } {
    const short = this.shortfall(need);
    if (short) return { ok: false, short };
    this.#add(need, 1);
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.#add(need, -1);
      },
    };
  }

  /**
   * Moves one sandbox from state `from` (null: not counted yet) to `to`
   * (null: forgotten), adjusting counts and, when quota-holding changes, the
   * allocation.
   */
  move(resources: Resources, from: SandboxState | null, to: SandboxState | null): void {
    if (from === to) return;
    if (from) this.#counts.set(from, (this.#counts.get(from) ?? 0) - 1);
    if (to) this.#counts.set(to, (this.#counts.get(to) ?? 0) + 1);
    const held = from !== null && holdsQuota(from, this.pauseMode);
    const holds = to !== null && holdsQuota(to, this.pauseMode);
    if (held !== holds) this.#add(resources, holds ? 1 : -1);
  }

  #add(r: Resources, sign: 1 | -1): void {
    this.#allocation.cpu += sign * r.cpu;
    this.#allocation.memoryMB += sign * r.memoryMB;
    this.#allocation.sandboxes += sign;
    this.onChange?.();
  }
}
