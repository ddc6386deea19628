/**
 * A node's warm pool (DESIGN.md "Warm pool"): per template, up to N members
 * started and then frozen, each holding a capacity reservation of the
 * default resources while it waits. `claim` hands a ready member to a new
 * sandbox (its id written inside, then thawed) and the pool refills in the
 * background, one member at a time per node, so a refill never takes more
 * than one engine start away from real creates, and a member still being
 * started gives its room to a create that needs it (`evict`).
 *
 * A template whose member start fails (its image is missing, its main
 * process exits) is tried again after a growing delay (`retry`), not on
 * every capacity change, and never holds up the other templates' refill.
 *
 * The node takes a member synchronously at admission (`take`: the member's
 * reservation becomes the create's), and the machine's start finishes the
 * claim (`finishClaim`). Reconciliation asks `owns` so that a member being
 * started, ready, or being claimed is never removed as an orphan.
 */
import fs from "node:fs";
import path from "node:path";
import type { Endpoint, Resources } from "../../../src/schema/record.js";
import type { SandboxSpec, StartedSandbox } from "../../../src/drivers/types.js";
import type { ClusterId, NodeId, SandboxId } from "../../../src/ids.js";
import type { Template } from "../../../src/templates.js";
import type { WarmSpec } from "./warm-spec.js";

/** The engine operations a pool uses (the docker driver has them all). */
export interface PoolDriver {
  start(spec: SandboxSpec): Promise<StartedSandbox>;
  /** Freezes a started member (the docker driver: through its freezer cgroup when it can). */
  freezeMember(handle: string): Promise<void>;
  remove(handle: string): Promise<void>;
  claimMember(handle: string, sandboxId: SandboxId, idFile: string, hostFile?: string): Promise<Endpoint>;
}

/** A capacity reservation: `release` is idempotent. */
export type Reserve = (need: Resources) => { ok: true; release: () => void } | { ok: false; short: string };

export interface WarmPoolOptions {
  driver: PoolDriver;
  nodeId: NodeId;
  clusterId: ClusterId;
  spec: WarmSpec;
  template: (name: string) => Template;
  /** The resources a member is made with (a create's defaults). */
  resources: Resources;
  reserve: Reserve;
  newMemberId: () => SandboxId;
  /** Where a claim writes the new sandbox id inside the member. */
  idFile: string;
  /**
   * A host directory for the members' id files: each member is made with its
   * own file there bind-mounted at `idFile`, and a claim writes the new id
   * into it on the host (no copy into the container). Unset: the claim copies
   * the id into the container.
   */
  memberDir?: string;
  /**
   * How long after a claim settles its refill starts: the caller usually
   * talks to its new sandbox at once, and an engine start right then
   * competes with those first requests. @default 0
   */
  refillDelayMs?: number;
  /** Delay before a template whose member start failed is tried again, doubled per failure in a row. @default { baseMs: 1000, maxMs: 60000 } */
  retry?: { baseMs: number; maxMs: number };
  /** A member start failed; the template is tried again in `retryInMs`. */
  onError: (err: unknown, template: string, retryInMs: number) => void;
  /** The ready counts changed (the lease writes early). Must not block. */
  onChange?: () => void;
}

/** A ready member, or one taken for a claim (then no longer in the ready list). */
export interface Member {
  memberId: SandboxId;
  template: string;
  handle: string;
  /** The member's id file on the host (bind-mounted at the pool's `idFile`), if made with one. */
  hostFile?: string;
  /** Ends the member's capacity reservation (idempotent). */
  release: () => void;
}

/** A member the refill is starting; `cancelled` once an eviction took its reservation. */
interface Starting {
  memberId: SandboxId;
  release: () => void;
  cancelled: boolean;
}

/** A claimed member: the sandbox's handle and endpoint; `release` ends the member's reservation. */
export interface Claimed extends StartedSandbox {
  memberId: SandboxId;
  release: () => void;
}

export class WarmPool {
  readonly #opts: WarmPoolOptions;
  readonly #ready = new Map<string, Member[]>();
  /** Member ids this pool answers for: being started, ready, or taken and not yet settled. */
  readonly #owned = new Set<string>();
  #refilling: Promise<void> | null = null;
  /** Members being started by the refill, until they are ready or failed; an eviction cancels one (its reservation ends at once). */
  readonly #starting = new Set<Starting>();
  #stopped = false;
  /** Templates whose last member start failed: failures in a row, and when a start may be tried again. */
  readonly #failing = new Map<string, { failures: number; retryAt: number }>();
  #retryTimer: NodeJS.Timeout | null = null;

  constructor(opts: WarmPoolOptions) {
    this.#opts = opts;
    for (const name of opts.spec.keys()) this.#ready.set(name, []);
  }

  /** Ready (frozen, unclaimed) members per pooled template. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#ready].map(([name, members]) => [name, members.length]));
  }

  /** Whether a container labelled `corral.pool-member=<memberId>` is this pool's to keep (not an orphan). */
  owns(memberId: string): boolean {
    return this.#owned.has(memberId);
  }

  /**
   * Takes a ready member of `template` out of the pool (synchronously, so two
   * creates never take one), or null when none is ready. The member keeps its
   * reservation and stays owned until {@link settled}, which starts the
   * refill (not before: the refill's engine start would compete with the
   * claim's thaw). The newest member goes first (a stack, as connection
   * pools keep their hot connections in use): the engine thaws a container
   * frozen a short while ago faster than one frozen for long, and the
   * oldest are the ones an eviction removes.
   */
  take(template: string): Member | null {
    const member = this.#ready.get(template)?.pop() ?? null;
    if (!member) return null;
    this.#opts.onChange?.();
    return member;
  }

  /**
   * Finishes the claim of a taken member for `sandboxId`: writes the id and
   * thaws it. A member whose claim fails is removed and the error rethrown.
   */
  async finishClaim(member: Member, sandboxId: SandboxId): Promise<StartedSandbox> {
    try {
      const endpoint = await this.#opts.driver.claimMember(member.handle, sandboxId, this.#opts.idFile, member.hostFile);
      // The mount keeps the file's inode: the sandbox still reads its id; the host no longer keeps a name for it.
      unlinkQuietly(member.hostFile);
      return { handle: member.handle, endpoint };
    } catch (err) {
      await this.discard(member);
      throw err;
    }
  }

  /** A taken member's claim is over (its container is the sandbox's now, or was discarded): no longer owned; the pool refills. */
  settled(member: Member): void {
    this.#owned.delete(member.memberId);
    const delayMs = this.#opts.refillDelayMs ?? 0;
    if (delayMs <= 0) void this.refill();
    else setTimeout(() => void this.refill(), delayMs).unref();
  }

  /** Removes a taken member that will not be claimed (its reservation ends) and refills. */
  async discard(member: Member): Promise<void> {
    member.release();
    this.#owned.delete(member.memberId);
    await this.#remove(member);
    this.refill();
  }

  async #remove(member: { handle: string; hostFile?: string }): Promise<void> {
    await this.#opts.driver.remove(member.handle).catch(() => undefined);
    unlinkQuietly(member.hostFile);
  }

  /** Members being started and not evicted (a create may still evict them). */
  startingTotal(): number {
    let n = 0;
    for (const starting of this.#starting) if (!starting.cancelled) n++;
    return n;
  }

  /** Members a create may evict: every ready one, and any still being started. */
  evictableTotal(): number {
    let n = this.startingTotal();
    for (const members of this.#ready.values()) n += members.length;
    return n;
  }

  /**
   * Evicts `n` members to make room for a create that cannot take one
   * (docs/warm-pool.md): synchronously, their reservations ended. Ready
   * members go first, from the template with the most ready members, the
   * oldest first; their containers are removed in the background. Then
   * members still being started: each is cancelled (its container is
   * removed as soon as its start returns), so a refill never holds room a
   * create needs. Returns the evicted member ids.
   */
  evict(n: number): string[] {
    const evicted: Member[] = [];
    while (evicted.length < n) {
      const fullest = [...this.#ready.values()].reduce<Member[] | null>((best, members) => (members.length > (best?.length ?? 0) ? members : best), null);
      const member = fullest?.shift(); // the oldest (take hands out the newest)
      if (!member) break;
      member.release();
      evicted.push(member);
    }
    if (evicted.length > 0) this.#opts.onChange?.();
    for (const member of evicted) void this.discard(member);
    const ids = evicted.map((m) => m.memberId as string);
    for (const starting of this.#starting) {
      if (ids.length >= n) break;
      if (starting.cancelled) continue;
      starting.cancelled = true;
      starting.release();
      ids.push(starting.memberId);
    }
    return ids;
  }

  /** The engine reports a member's container gone or exited: a ready one is dropped (and replaced). */
  lost(memberId: string): void {
    for (const members of this.#ready.values()) {
      const i = members.findIndex((m) => m.memberId === memberId);
      if (i === -1) continue;
      const [member] = members.splice(i, 1);
      void this.discard(member!);
      this.#opts.onChange?.();
      return;
    }
  }

  /**
   * Takes a ready member of `template` for `sandboxId` and claims it at once,
   * or null when none is ready (the caller starts cold). The caller ends the
   * member's reservation with `release`.
   */
  async claim(template: string, sandboxId: SandboxId): Promise<Claimed | null> {
    const member = this.take(template);
    if (!member) return null;
    const started = await this.finishClaim(member, sandboxId);
    this.settled(member);
    return { ...started, memberId: member.memberId, release: member.release };
  }

  /** Starts the background refill unless one runs; resolves when the pool is full or cannot grow. */
  refill(): Promise<void> {
    // Deferred one tick: a reservation's change callback may call refill() again, and must find this one running.
    this.#refilling ??= Promise.resolve()
      .then(() => this.#fill())
      .finally(() => {
        this.#refilling = null;
      });
    return this.#refilling;
  }

  async #fill(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const now = Date.now();
      const short = [...this.#opts.spec].find(([name, n]) => (this.#ready.get(name)?.length ?? 0) < n && (this.#failing.get(name)?.retryAt ?? 0) <= now);
      if (!short) return this.#armRetry();
      const [name] = short;
      const reservation = this.#opts.reserve(this.#opts.resources);
      if (!reservation.ok) return; // full: a later claim or refill tries again
      const starting: Starting = { memberId: this.#opts.newMemberId(), release: reservation.release, cancelled: false };
      this.#starting.add(starting);
      try {
        const member = await this.#startMember(name, starting.memberId, reservation.release);
        this.#starting.delete(starting);
        if (this.#stopped || starting.cancelled) {
          reservation.release();
          this.#owned.delete(member.memberId);
          await this.#remove(member);
          if (this.#stopped) return;
          continue; // evicted while starting: its room went to a create; the next round finds out whether there is room again
        }
        this.#failing.delete(name);
        this.#ready.get(name)?.push(member);
        this.#opts.onChange?.();
      } catch (err) {
        this.#starting.delete(starting);
        reservation.release();
        if (starting.cancelled) continue; // its failure does not count against the template: nobody waits for it
        const { baseMs, maxMs } = this.#opts.retry ?? { baseMs: 1_000, maxMs: 60_000 };
        const failures = (this.#failing.get(name)?.failures ?? 0) + 1;
        const retryInMs = Math.min(maxMs, baseMs * 2 ** Math.min(failures - 1, 20));
        this.#failing.set(name, { failures, retryAt: Date.now() + retryInMs });
        this.#opts.onError(err, name, retryInMs);
      }
    }
  }

  /** Arms one refill at the earliest retry of a short, failing template. */
  #armRetry(): void {
    let at = Infinity;
    for (const [name, n] of this.#opts.spec) {
      const failing = this.#failing.get(name);
      if (failing && (this.#ready.get(name)?.length ?? 0) < n) at = Math.min(at, failing.retryAt);
    }
    if (at === Infinity || this.#stopped) return;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      void this.refill();
    }, Math.max(0, at - Date.now()));
    this.#retryTimer.unref();
  }

  async #startMember(name: string, memberId: SandboxId, release: () => void): Promise<Member> {
    this.#owned.add(memberId);
    try {
      return await this.#startOwned(name, memberId, release);
    } catch (err) {
      this.#owned.delete(memberId);
      throw err;
    }
  }

  async #startOwned(name: string, memberId: SandboxId, release: () => void): Promise<Member> {
    const hostFile = this.#opts.memberDir === undefined ? undefined : path.join(this.#opts.memberDir, memberId);
    if (hostFile !== undefined) {
      await fs.promises.mkdir(this.#opts.memberDir!, { recursive: true });
      await fs.promises.writeFile(hostFile, memberId);
    }
    let started: StartedSandbox;
    try {
      started = await this.#startFrozen(name, memberId, hostFile);
    } catch (err) {
      unlinkQuietly(hostFile);
      throw err;
    }
    return { memberId, template: name, handle: started.handle, release, ...(hostFile === undefined ? {} : { hostFile }) };
  }

  async #startFrozen(name: string, memberId: SandboxId, hostFile: string | undefined): Promise<StartedSandbox> {
    const started = await this.#opts.driver.start({
      sandboxId: memberId,
      nodeId: this.#opts.nodeId,
      clusterId: this.#opts.clusterId,
      template: this.#opts.template(name),
      env: {},
      resources: this.#opts.resources,
      incarnation: 1,
      poolMember: memberId,
      ...(hostFile === undefined ? {} : { bindFile: { hostPath: hostFile, path: this.#opts.idFile } }),
    });
    try {
      await this.#opts.driver.freezeMember(started.handle);
    } catch (err) {
      await this.#opts.driver.remove(started.handle).catch(() => undefined);
      throw err;
    }
    return started;
  }

  /** Stops refilling and removes every ready member (their reservations end). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    await this.#refilling;
    for (const members of this.#ready.values()) {
      for (const m of members.splice(0)) {
        m.release();
        this.#owned.delete(m.memberId);
        await this.#remove(m);
      }
    }
  }
}

/** Removes a member's id file on the host, if it has one (already gone is fine). */
function unlinkQuietly(file: string | undefined): void {
  if (file !== undefined) fs.rm(file, { force: true }, () => undefined);
}
