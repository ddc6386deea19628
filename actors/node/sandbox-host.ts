/**
 * One hosted sandbox: its machine actor, its mailbox, and the waiters of
 * "settled" (a stable state with no write in flight). Kept small: a node
 * hosts thousands of these, so per-sandbox state is only what the hot paths
 * need; the record itself lives once, in the machine's context.
 */
import type { ActorRefFrom, SnapshotFrom } from "xstate";
import { UnavailableError } from "../../src/errors.js";
import type { SandboxId } from "../../src/ids.js";
import type { SandboxState, StoredSandbox } from "../../src/schema/record.js";
import type { NodeSandboxMachine } from "./driver-actors.js";
import { SerialQueue } from "../../src/serial-queue.js";

/** A sandbox actor reference of this node. */
export type SandboxActor = ActorRefFrom<NodeSandboxMachine>;
/** A snapshot of a sandbox actor. */
export type SandboxSnapshot = SnapshotFrom<NodeSandboxMachine>;

/** States in which no driver operation is under way. */
const STABLE: readonly string[] = ["running", "paused", "killed"];

/**
 * True when the machine is in a stable state with no write in flight, or
 * final (`killed`, entered once its record was stored).
 */
export function isSettled(snapshot: SandboxSnapshot): boolean {
  if (snapshot.status !== "active") return true;
  return STABLE.includes(snapshot.value as string) && snapshot.context.writing === null;
}

interface Waiter {
  resolve: (snapshot: SandboxSnapshot) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Per-sandbox hosting state. */
export class SandboxHost {
  /** The sandbox's mailbox: every command, timer firing and driver event for it runs here, in turn. */
  readonly mailbox = new SerialQueue();
  actor: SandboxActor | null = null;
  /** State last counted in the capacity ledger (null: not counted). */
  countedState: SandboxState | null = null;
  /** The stored `killed` record once the machine finished (replies read it after the actor is gone). */
  finalRecord: StoredSandbox | null = null;
  #waiters: Waiter[] | null = null;

  constructor(readonly sandboxId: SandboxId) {}

  /** The machine's current snapshot (null before the actor exists). */
  snapshot(): SandboxSnapshot | null {
    return this.actor ? this.actor.getSnapshot() : null;
  }

  /** The persisted record plus in-memory activity (null before the actor exists). */
  record(): StoredSandbox | null {
    return this.snapshot()?.context.record ?? null;
  }

  /**
   * Resolves with the snapshot once the machine is settled (at once if it
   * is); rejects with `unavailable` after `timeoutMs` (a driver that hangs
   * must not hold a client forever; the mailbox moves on).
   */
  settled(timeoutMs: number): Promise<SandboxSnapshot> {
    const snapshot = this.snapshot();
    if (!snapshot) return Promise.reject(new UnavailableError(`sandbox ${this.sandboxId} is not hosted`));
    if (isSettled(snapshot)) return Promise.resolve(snapshot);
    return new Promise<SandboxSnapshot>((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters = this.#waiters?.filter((w) => w !== waiter) ?? null;
          const state = this.actor?.getSnapshot().value ?? "unknown";
          reject(new UnavailableError(`sandbox ${this.sandboxId} did not settle within ${timeoutMs} ms (still ${String(state)})`));
        }, timeoutMs),
      };
      (this.#waiters ??= []).push(waiter);
    });
  }

  /** Called on every snapshot of the actor: wakes the settled waiters. */
  notify(snapshot: SandboxSnapshot): void {
    if (!this.#waiters || !isSettled(snapshot)) return;
    const waiters = this.#waiters;
    this.#waiters = null;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.resolve(snapshot);
    }
  }

  /** Rejects every waiter (the sandbox stopped being hosted). */
  abandon(reason: Error): void {
    const waiters = this.#waiters ?? [];
    this.#waiters = null;
    for (const w of waiters) {
      clearTimeout(w.timer);
      w.reject(reason);
    }
  }
}
