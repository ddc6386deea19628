/**
 * The node's sandbox actors: one machine actor per live sandbox, its
 * mailbox, its deadline timer, its share of the capacity ledger, and the
 * tombstone timer once it is killed. Everything that reacts to a machine's
 * snapshots lives here; the NodeActor composes this with the NATS side.
 *
 * Invariants:
 * - a sandbox has at most one host (and so one mailbox) on this node;
 * - the deadline timer is armed iff the machine is `running` with an
 *   `endAt` (and no timeout pause is already being retried), at exactly that
 *   `endAt` (re-armed on every snapshot, so in-memory activity moves it
 *   before it is flushed);
 * - the ledger counts each hosted sandbox once, in its current state;
 * - a `killed` sandbox holds no actor: only its tombstone timer
 *   (`killedAt + tombstoneMs`, then `deleteIfRevision`).
 */
import { createActor, fromCallback, type AnyActorRef, type Subscription } from "xstate";
import type { CorralConfig } from "../../src/config.js";
import { InternalError, UnavailableError } from "../../src/errors.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { errorMessage, isRestorable, restoreSnapshot, type SandboxMachineEvent } from "../../machines/sandbox/index.js";
import type { CapacityLedger } from "./capacity.js";
import { DeadlineTimers } from "./deadline-timers.js";
import type { NodeSandboxMachine } from "./driver-actors.js";
import { OwnershipLostError, RecordWriter } from "./record-writer.js";
import { SandboxHost, type SandboxActor, type SandboxSnapshot } from "./sandbox-host.js";

/**
 * The deadline a sandbox's timer must be armed at, or null. xstate emits a
 * snapshot for every event, even one no transition takes: a TIMEOUT that the
 * machine ignores must not re-arm the same past `endAt`, or the timer would
 * fire again at once, forever. The machine ignores TIMEOUT exactly when a
 * timeout pause is already being retried (`onTimeout = "pause"` with a pause
 * retry pending): that retry has its own backoff timer, so none is armed here.
 */
export function deadlineToArm(snapshot: SandboxSnapshot): number | null {
  // While a write is in flight the machine decides nothing; the snapshot of its answer re-arms.
  if (snapshot.status !== "active" || snapshot.value !== "running" || snapshot.context.writing !== null) return null;
  const { record, pauseRetry } = snapshot.context;
  if (record.lifecycle.onTimeout === "pause" && pauseRetry !== null) return null;
  return record.endAt;
}

/** What {@link Hosting} needs. */
export interface HostingDeps {
  nodeId: NodeId;
  store: Pick<SandboxStore, "mutate" | "updateAt" | "publishLanded" | "deleteIfRevision">;
  config: CorralConfig;
  machine: NodeSandboxMachine;
  ledger: CapacityLedger;
  log: Logger;
  /** A hosted sandbox's deadline passed (post TIMEOUT through its mailbox). Must not block. */
  onDeadline: (host: SandboxHost) => void;
  /**
   * A sandbox stopped being hosted because a write failed where only the
   * container can tell what happened (see `#onWriteFailed`): reconcile it once
   * the store answers again. Must not block.
   */
  onNeedsReconcile: (id: SandboxId) => void;
  /** Retry budget of one record write (./record-writer.ts). */
  writeRetryBudgetMs?: number;
}

/**
 * Stops a sandbox actor created with `parent` (see `Hosting.#root`). xstate
 * refuses `stop()` on a child ("a non-root actor cannot be stopped
 * directly") and stops children through `_stop()`, which is what its own
 * `stopChild` action calls; that method is internal, so its absence is
 * reported loudly instead of leaving the actor running.
 */
function stopChildActor(actor: SandboxActor): void {
  const internal = actor as unknown as { _stop?: () => void };
  if (typeof internal._stop !== "function") throw new InternalError("xstate changed: Actor._stop is gone; update stopChildActor");
  internal._stop();
}

/** Why `stopAll` unhosts. */
const STOPPING = "node stopping";

/** The node's hosted sandboxes. */
export class Hosting {
  readonly #deps: HostingDeps;
  readonly #hosts = new Map<SandboxId, SandboxHost>();
  readonly #subscriptions = new Map<SandboxId, Subscription>();
  readonly #tombstones = new DeadlineTimers<SandboxId>({ onDue: (id) => void this.#deleteTombstone(id) });
  /** Revision of each tombstone this node will delete (only that revision is deleted). */
  readonly #tombstoneRevisions = new Map<SandboxId, number>();
  readonly timers: DeadlineTimers<SandboxId>;
  readonly writer: RecordWriter;
  /**
   * The parent of every sandbox actor of this node, so that they share one
   * xstate actor system (clock, scheduler, registry) instead of each creating
   * its own: about 1.5 KiB less per sandbox at 10,000 sandboxes. It ignores
   * what children report to it (a `killed` machine's done event).
   */
  readonly #root: AnyActorRef = createActor(fromCallback(() => {})).start();

  constructor(deps: HostingDeps) {
    this.#deps = deps;
    this.timers = new DeadlineTimers<SandboxId>({
      onDue: (id) => {
        const host = this.#hosts.get(id);
        if (host) deps.onDeadline(host);
      },
    });
    this.writer = new RecordWriter({
      store: deps.store,
      nodeId: deps.nodeId,
      log: deps.log,
      retryBudgetMs: deps.writeRetryBudgetMs,
      onWriteFailed: (id, err) => this.#onWriteFailed(id, err),
    });
  }

  /** Hosted (and being-created) sandboxes. */
  get size(): number {
    return this.#hosts.size;
  }

  /** The host of `id`, if any. */
  get(id: SandboxId): SandboxHost | undefined {
    return this.#hosts.get(id);
  }

  /** The host whose record names container `handle` (a claimed warm member is labelled with another id). */
  byHandle(handle: string): SandboxHost | undefined {
    for (const host of this.#hosts.values()) if (host.record()?.internal.handle === handle) return host;
    return undefined;
  }

  /** Every host (a copy). */
  all(): SandboxHost[] {
    return [...this.#hosts.values()];
  }

  /** The host of `id`, created empty (mailbox only) if absent: creates serialize on it. */
  ensure(id: SandboxId): SandboxHost {
    let host = this.#hosts.get(id);
    if (!host) {
      host = new SandboxHost(id);
      this.#hosts.set(id, host);
    }
    return host;
  }

  /** Drops an empty host (no actor) once its mailbox is idle. */
  release(host: SandboxHost): void {
    if (!host.actor && host.mailbox.idle && this.#hosts.get(host.sandboxId) === host) this.#hosts.delete(host.sandboxId);
  }

  /** Starts a fresh machine for a `starting` record that was just written. */
  startNew(host: SandboxHost, record: StoredSandbox): void {
    this.writer.seed(record);
    this.#cancelTombstone(record.sandboxId);
    host.finalRecord = null;
    const actor = createActor(this.#deps.machine, { parent: this.#root, input: { record, writer: this.writer.ref, limits: this.#deps.config } });
    this.#attach(host, actor);
  }

  /**
   * Hosts a stored record in a stable state: `running`/`paused` become a
   * restored actor (no write), `killed` a tombstone timer.
   */
  restore(record: StoredSandbox): void {
    // Hosted or being created meanwhile (a reconciliation pass read the record earlier): the host owns it.
    if (this.#hosts.has(record.sandboxId)) return;
    if (record.state === "killed") {
      this.armTombstone(record);
      return;
    }
    const host = this.ensure(record.sandboxId);
    this.writer.seed(record);
    const snapshot = restoreSnapshot(record, { writer: this.writer.ref, limits: this.#deps.config }, this.#deps.machine);
    const actor = createActor(this.#deps.machine, { parent: this.#root, snapshot, input: { record, writer: this.writer.ref, limits: this.#deps.config } });
    this.#attach(host, actor);
  }

  /** Sends an event to a hosted machine (no-op when not hosted). */
  send(host: SandboxHost, event: SandboxMachineEvent): void {
    host.actor?.send(event);
  }

  /** The record a reply may carry: the last acknowledged write (a `killed` machine entered killed on its ack). */
  persisted(snapshot: SandboxSnapshot): StoredSandbox {
    return snapshot.context.persisted;
  }

  /** Stops hosting `id` (ownership lost, node stopping): the actor stops, timers are disarmed. */
  unhost(id: SandboxId, why: string): void {
    const host = this.#hosts.get(id);
    if (!host) return;
    // A node stopping lets go of every sandbox (they keep running): one info line for all, in stopAll.
    if (why !== STOPPING) this.#deps.log.warn({ sandboxId: id, why }, "no longer hosting sandbox");
    this.#detach(host);
    host.abandon(new UnavailableError(`sandbox ${id} is no longer hosted by this node: ${why}`));
    this.#hosts.delete(id);
  }

  /** Arms deletion of a killed tombstone at `killedAt + tombstoneMs` (only at this revision). */
  armTombstone(record: StoredSandbox): void {
    const armed = this.#tombstoneRevisions.get(record.sandboxId);
    // A reconciliation pass may read an older tombstone of this id than the one armed: the newer stays.
    if (armed !== undefined && armed >= record.revision) return;
    const killedAt = record.internal.killedAt ?? Date.now();
    if (armed === undefined) this.#deps.ledger.move(record.resources, null, "killed");
    this.#tombstoneRevisions.set(record.sandboxId, record.revision);
    this.#tombstones.arm(record.sandboxId, killedAt + this.#deps.config.tombstoneMs);
  }

  /** Stops every actor and timer (node shutdown; the sandboxes keep running). */
  stopAll(): void {
    const hosts = this.all();
    for (const host of hosts) this.unhost(host.sandboxId, STOPPING);
    this.#deps.log.info({ sandboxes: hosts.length }, "released every sandbox (they keep running; the next start re-adopts them)");
    this.timers.clear();
    this.#tombstones.clear();
    this.writer.stop();
    this.#root.stop();
  }

  #attach(host: SandboxHost, actor: SandboxHost["actor"] & object): void {
    host.actor = actor;
    const subscription = actor.subscribe({
      next: (snapshot) => this.#onSnapshot(host, snapshot),
      error: (err) => this.#deps.log.error({ sandboxId: host.sandboxId, err }, "sandbox actor failed"),
    });
    this.#subscriptions.set(host.sandboxId, subscription);
    actor.start();
    // A restored snapshot emits nothing on start: account for it now.
    this.#onSnapshot(host, actor.getSnapshot());
  }

  #detach(host: SandboxHost): void {
    this.#subscriptions.get(host.sandboxId)?.unsubscribe();
    this.#subscriptions.delete(host.sandboxId);
    const record = host.record();
    if (record) this.#deps.ledger.move(record.resources, host.countedState, null);
    host.countedState = null;
    if (host.actor) stopChildActor(host.actor);
    host.actor = null;
    this.timers.disarm(host.sandboxId);
  }

  #onSnapshot(host: SandboxHost, snapshot: SandboxSnapshot): void {
    if (host.actor === null) return;
    const record = snapshot.context.record;
    // A state counts from the moment its intent is sent: a resume's quota is taken before its write lands
    // (so two resumes cannot share one free slot), and given back if the write fails.
    const state = snapshot.status === "done" ? "killed" : (snapshot.context.writing?.to ?? (snapshot.value as StoredSandbox["state"]));
    if (state !== host.countedState) {
      this.#deps.ledger.move(record.resources, host.countedState, state === "killed" ? null : state);
      host.countedState = state === "killed" ? null : state;
    }
    this.timers.arm(host.sandboxId, deadlineToArm(snapshot));
    host.notify(snapshot);
    if (snapshot.status === "done") this.#onKilled(host, snapshot);
  }

  /** A machine reached `killed` (its killed record is stored): keep only a tombstone timer. */
  #onKilled(host: SandboxHost, snapshot: SandboxSnapshot): void {
    this.#subscriptions.get(host.sandboxId)?.unsubscribe();
    this.#subscriptions.delete(host.sandboxId);
    host.finalRecord = snapshot.context.persisted;
    host.actor = null;
    if (this.#hosts.get(host.sandboxId) === host && host.mailbox.idle) this.#hosts.delete(host.sandboxId);
    this.writer.forget(host.sandboxId);
    this.armTombstone(snapshot.context.persisted);
  }

  /**
   * A write did not land. The machine stayed where its record is; what
   * happens next depends on where that is:
   * - the record was taken over (another node, a new incarnation): stop
   *   hosting (a reconciliation pass re-adopts it if it is in fact ours: a
   *   write of ours that landed although its answer was lost);
   * - a stable state (an intent or a non-transition write failed): nothing
   *   was done to the container, the command that asked answers `unavailable`
   *   (a reconciliation pass still follows: a container that exited while its
   *   `container_exited` could not be stored is killed then);
   * - a transient state (its outcome failed): the driver call is done and
   *   only the container can tell how it ended, so the sandbox is unhosted
   *   (commands answer `unavailable`) and reconciled from its container and
   *   record as soon as the store answers again.
   */
  #onWriteFailed(id: SandboxId, err: unknown): void {
    if (err instanceof OwnershipLostError) {
      this.unhost(id, `ownership lost: ${err.message}`);
      // A write of ours that landed although its answer was lost looks the same: a pass re-adopts the record if it is ours.
      this.#deps.onNeedsReconcile(id);
      return;
    }
    const snapshot = this.#hosts.get(id)?.snapshot();
    if (snapshot?.status === "active" && !isRestorable(String(snapshot.value) as StoredSandbox["state"])) {
      this.unhost(id, `the ${String(snapshot.value)} outcome could not be stored: ${errorMessage(err)}`);
    }
    // Also after a failed intent: a container that exited meanwhile is killed by the next pass.
    this.#deps.onNeedsReconcile(id);
  }

  #cancelTombstone(id: SandboxId): void {
    if (!this.#tombstoneRevisions.delete(id)) return;
    this.#tombstones.disarm(id);
    this.#deps.ledger.move({ cpu: 0, memoryMB: 0 }, "killed", null);
  }

  async #deleteTombstone(id: SandboxId): Promise<void> {
    const revision = this.#tombstoneRevisions.get(id);
    if (revision === undefined) return;
    this.#cancelTombstone(id);
    try {
      const deleted = await this.#deps.store.deleteIfRevision(id, revision);
      this.#deps.log.debug({ sandboxId: id, deleted }, "tombstone expired");
    } catch (err) {
      // A record that changed (a new incarnation) is not ours to delete; anything else is logged only.
      this.#deps.log.warn({ sandboxId: id, err }, "tombstone delete failed");
    }
  }
}
