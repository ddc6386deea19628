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
import { shortfall, tidy, type Amounts } from "../../src/capacity.js";
import type { Resources, SandboxState } from "../../src/schema/record.js";

export type { Amounts } from "../../src/capacity.js";

/** True when a sandbox in `state` counts against the node's capacity. */
export function holdsQuota(state: SandboxState, pauseMode: PauseMode): boolean {
  if (state === "killed") return false;
  if (state === "paused") return pauseMode === "freeze";
  return true;
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
