/**
 * A node's warm pool (DESIGN.md "Warm pool"): per template, up to N members
 * started and then frozen, each holding a capacity reservation of the
 * default resources while it waits. `claim` hands a ready member to a new
 * sandbox (its id written inside, then thawed) and the pool refills in the
 * background, one member at a time per node, so a refill never takes more
 * than one engine start away from real creates.
 *
 * Not yet wired into the node actor (see docs/warm-pool.md): the create
 * path, reconciliation of members and the lease's warm counts are missing.
 */
import type { Endpoint, Resources } from "../../../src/schema/record.js";
import type { SandboxSpec, StartedSandbox } from "../../../src/drivers/types.js";
import type { ClusterId, NodeId, SandboxId } from "../../../src/ids.js";
import type { Template } from "../../../src/templates.js";
import type { WarmSpec } from "./warm-spec.js";

/** The engine operations a pool uses (the docker driver has them all). */
export interface PoolDriver {
  start(spec: SandboxSpec): Promise<StartedSandbox>;
  pause(handle: string, mode: "freeze"): Promise<void>;
  remove(handle: string): Promise<void>;
  claimMember(handle: string, sandboxId: SandboxId, idFile: string): Promise<Endpoint>;
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
  onError: (err: unknown, template: string) => void;
}

interface Member {
  memberId: SandboxId;
  handle: string;
  release: () => void;
}

/** A claimed member: the sandbox's handle and endpoint; `release` ends the member's reservation. */
export interface Claimed extends StartedSandbox {
  memberId: SandboxId;
  release: () => void;
}

export class WarmPool {
  readonly #opts: WarmPoolOptions;
  readonly #ready = new Map<string, Member[]>();
  #refilling: Promise<void> | null = null;
  #stopped = false;

  constructor(opts: WarmPoolOptions) {
    this.#opts = opts;
    for (const name of opts.spec.keys()) this.#ready.set(name, []);
  }

  /** Ready (frozen, unclaimed) members per pooled template. */
  counts(): Record<string, number> {
    return Object.fromEntries([...this.#ready].map(([name, members]) => [name, members.length]));
  }

  /**
   * Takes a ready member of `template` for `sandboxId`, or null when none is
   * ready (the caller starts cold). A member whose claim fails is removed and
   * the error rethrown.
   */
  async claim(template: string, sandboxId: SandboxId): Promise<Claimed | null> {
    const member = this.#ready.get(template)?.shift();
    if (!member) return null;
    this.refill();
    try {
      const endpoint = await this.#opts.driver.claimMember(member.handle, sandboxId, this.#opts.idFile);
      return { handle: member.handle, endpoint, memberId: member.memberId, release: member.release };
    } catch (err) {
      member.release();
      await this.#opts.driver.remove(member.handle).catch(() => undefined);
      throw err;
    }
  }

  /** Starts the background refill unless one runs; resolves when the pool is full or cannot grow. */
  refill(): Promise<void> {
    this.#refilling ??= this.#fill().finally(() => {
      this.#refilling = null;
    });
    return this.#refilling;
  }

  async #fill(): Promise<void> {
    for (;;) {
      if (this.#stopped) return;
      const short = [...this.#opts.spec].find(([name, n]) => (this.#ready.get(name)?.length ?? 0) < n);
      if (!short) return;
      const [name] = short;
      const reservation = this.#opts.reserve(this.#opts.resources);
      if (!reservation.ok) return; // full: a later claim or refill tries again
      try {
        const member = await this.#startMember(name, reservation.release);
        if (this.#stopped) {
          reservation.release();
          await this.#opts.driver.remove(member.handle).catch(() => undefined);
          return;
        }
        this.#ready.get(name)?.push(member);
      } catch (err) {
        reservation.release();
        this.#opts.onError(err, name);
        return;
      }
    }
  }

  async #startMember(name: string, release: () => void): Promise<Member> {
    const memberId = this.#opts.newMemberId();
    const started = await this.#opts.driver.start({
      sandboxId: memberId,
      nodeId: this.#opts.nodeId,
      clusterId: this.#opts.clusterId,
      template: this.#opts.template(name),
      env: {},
      resources: this.#opts.resources,
      incarnation: 1,
      poolMember: memberId,
    });
    try {
      await this.#opts.driver.pause(started.handle, "freeze");
    } catch (err) {
      await this.#opts.driver.remove(started.handle).catch(() => undefined);
      throw err;
    }
    return { memberId, handle: started.handle, release };
  }

  /** Stops refilling and removes every ready member (their reservations end). */
  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#refilling;
    for (const members of this.#ready.values()) {
      for (const m of members.splice(0)) {
        m.release();
        await this.#opts.driver.remove(m.handle).catch(() => undefined);
      }
    }
  }
}
