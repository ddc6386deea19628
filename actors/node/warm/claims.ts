/**
 * The node's side of a warm claim (DESIGN.md "Warm pool"), between create's
 * admission and the machine's start:
 *
 * - `take` at admission, in the sandbox's mailbox turn: a create of a pooled
 *   template with no `env` and the members' resources takes a ready member,
 *   whose capacity reservation then stands for the create's (so a node whose
 *   capacity is all members still admits a create it can serve);
 * - `start` in the machine's start actor: finishes the claim (the id written
 *   inside, the container thawed); a claim that fails falls back to a cold
 *   start, so a broken member never fails a create;
 * - `settle` once the create is answered: a member never started is removed;
 * - `admit` for any other create: its own reservation, evicting members
 *   first when they hold the room it needs, ready ones or one still being
 *   started (members never starve real creates).
 */
import { warmTemplateOf } from "../../../src/api/scheduler.js";
import { evictionsNeeded, type Amounts } from "../../../src/capacity.js";
import type { StartedSandbox } from "../../../src/drivers/types.js";
import type { SandboxId } from "../../../src/ids.js";
import type { Logger } from "../../../src/log.js";
import type { Resources } from "../../../src/schema/record.js";
import type { Member, WarmPool } from "./pool.js";

/** What a create asks for, as far as a claim cares. */
export interface ClaimableSpec {
  template: string;
  env: Record<string, string>;
  resources: Resources;
}

/** The node's capacity ledger, as far as admission cares. */
export interface AdmissionLedger {
  readonly capacity: Amounts;
  readonly allocation: Amounts;
  reserve(need: Resources): { ok: true; release: () => void } | { ok: false; short: string };
}

/** Taken members by sandbox, from admission until the create is answered. */
export class WarmClaims {
  readonly #pool: WarmPool;
  readonly #resources: Resources;
  readonly #log: Logger;
  readonly #taken = new Map<SandboxId, { member: Member; claiming: Promise<unknown> | null }>();

  constructor(pool: WarmPool, memberResources: Resources, log: Logger) {
    this.#pool = pool;
    this.#resources = memberResources;
    this.#log = log;
  }

  /** Whether a create of `spec` can be served by a member (it would have been made the same way). */
  eligible(spec: ClaimableSpec): boolean {
    return warmTemplateOf(spec, this.#resources) !== undefined && spec.template in this.#pool.counts();
  }

  /** Takes a ready member for `sandboxId`; its `release` ends the reservation that admits the create. Null: start cold. */
  take(sandboxId: SandboxId, spec: ClaimableSpec): { ok: true; release: () => void } | null {
    if (!this.eligible(spec)) return null;
    const member = this.#pool.take(spec.template);
    if (!member) return null;
    this.#taken.set(sandboxId, { member, claiming: null });
    return { ok: true, release: member.release };
  }

  /**
   * Admission of a create that took no member: reserves `need`, evicting the
   * fewest members that make it fit when it does not fit as is (ready ones
   * first, then one still being started: `WarmPool.evict`). When even
   * evicting every such member would not make room, none is evicted and the
   * shortfall is returned.
   */
  admit(ledger: AdmissionLedger, sandboxId: SandboxId, need: Resources): { ok: true; release: () => void } | { ok: false; short: string } {
    const first = ledger.reserve(need);
    if (first.ok) return first;
    const n = evictionsNeeded(ledger.capacity, ledger.allocation, need, this.#resources, this.#pool.evictableTotal());
    if (n === null || n === 0) return first;
    const evicted = this.#pool.evict(n);
    this.#log.info({ sandboxId, evicted }, "warm pool: evicted members to admit a create");
    return ledger.reserve(need);
  }

  /** The machine's start: the taken member's claim, or `cold()` when none was taken or its claim failed. */
  async start(sandboxId: SandboxId, cold: () => Promise<StartedSandbox>): Promise<StartedSandbox> {
    const taken = this.#taken.get(sandboxId);
    if (!taken || taken.claiming) return cold();
    const claiming = this.#pool.finishClaim(taken.member, sandboxId);
    taken.claiming = claiming;
    try {
      return await claiming;
    } catch (err) {
      this.#log.warn({ sandboxId, memberId: taken.member.memberId, err: (err as Error).message }, "warm claim failed; starting cold");
      return cold();
    }
  }

  /**
   * The create is answered: the member is the sandbox's container now, or
   * (never started) is removed. A claim still under way (the create's wait
   * timed out) keeps the member owned until it ends and then until
   * `started` settles (the machine's write that names the container), so
   * that reconciliation never finds the container owned by nobody.
   */
  settle(sandboxId: SandboxId, started: () => Promise<unknown> = () => Promise.resolve()): void {
    const taken = this.#taken.get(sandboxId);
    if (!taken) return;
    this.#taken.delete(sandboxId);
    if (taken.claiming) {
      void taken.claiming
        .then(started)
        .catch(() => undefined)
        .finally(() => this.#pool.settled(taken.member));
    } else void this.#pool.discard(taken.member);
  }
}
