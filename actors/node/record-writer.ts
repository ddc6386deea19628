/**
 * The node's record writer: implements the sandbox machine's writer protocol
 * (machines/sandbox/index.ts) over `store.updateAt` (a CAS at the revision it
 * wrote last) and `store.mutate` (re-read on a conflict). One xstate actor serves
 * every sandbox of the node; writes of one sandbox are applied strictly in
 * the order the machine sent them (a promise chain per sandbox), writes of
 * different sandboxes run in parallel.
 *
 * "Still mine": the node is the single writer of the records it owns, so
 * every write checks that the latest stored record is still this node's,
 * of the same incarnation, and at the revision this writer wrote last. Any
 * other value means someone else took the sandbox over (a live node marked
 * it `node_lost` while this one was partitioned, or a create started a new
 * incarnation): the write is refused and the owner is told to stop hosting.
 *
 * Transient store failures (no JetStream leader, timeouts) are retried with
 * backoff for a bounded time (`retryBudgetMs`), then answered
 * `persist.failed`: the machine does not move, the command that caused the
 * write answers `unavailable`, and the host reconciles once the store is
 * back (a write that fails after its driver call leaves an effect that only
 * the container can tell about). No write is retried past its caller's wait.
 */
import { isDeepStrictEqual } from "node:util";
import { createActor, fromCallback, type AnyActorRef } from "xstate";
import { CorralError, InternalError, RevisionConflictError } from "../../src/errors.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import type { WriteRequest } from "../../machines/sandbox/index.js";

/** The stored record is no longer this node's to write. */
export class OwnershipLostError extends InternalError {
  constructor(
    readonly sandboxId: SandboxId,
    readonly latest: StoredSandbox | null,
    why: string,
  ) {
    super(`sandbox ${sandboxId}: ownership lost (${why})`);
  }
}

/** Options of {@link RecordWriter}. */
export interface RecordWriterOptions {
  store: Pick<SandboxStore, "mutate" | "updateAt" | "publishLanded">;
  nodeId: NodeId;
  log: Logger;
  /**
   * Called once per write that did not land (the record taken over, the
   * store unavailable), after the machine got its `persist.failed`. Must not block.
   */
  onWriteFailed: (id: SandboxId, error: unknown) => void;
  /** Retry backoff of transient store failures. @default { baseMs: 50, maxMs: 1000 } */
  retry?: { baseMs: number; maxMs: number };
  /** How long a write's transient failures are retried before it is answered `persist.failed`. @default 3000 */
  retryBudgetMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes sandbox records in machine order, with the "still mine" check. */
export class RecordWriter {
  readonly #opts: RecordWriterOptions;
  readonly #chains = new Map<SandboxId, Promise<void>>();
  /** The record each sandbox's last successful write stored (the CAS base of the next). */
  readonly #last = new Map<SandboxId, StoredSandbox>();
  #stopped = false;
  /** The actor the machines send `write` requests to. */
  readonly ref: AnyActorRef;

  constructor(opts: RecordWriterOptions) {
    this.#opts = opts;
    const logic = fromCallback<WriteRequest>(({ receive }) => {
      receive((request) => this.#enqueue(request));
    });
    this.ref = createActor(logic).start();
  }

  /** Tells the writer what is stored now (after create/restore), the CAS base of the next write. */
  seed(record: StoredSandbox): void {
    this.#last.set(record.sandboxId, record);
  }

  /** The record the last successful write (or seed) stored. */
  last(id: SandboxId): StoredSandbox | undefined {
    return this.#last.get(id);
  }

  /** Forgets a sandbox the node no longer hosts. */
  forget(id: SandboxId): void {
    this.#last.delete(id);
  }

  /** Resolves with the last stored record once every write sent so far for `id` has settled. */
  async settled(id: SandboxId): Promise<StoredSandbox | undefined> {
    for (let chain = this.#chains.get(id); chain; chain = this.#chains.get(id)) await chain;
    return this.#last.get(id);
  }

  /** Stops retrying (pending retries give up with `persist.failed`). */
  stop(): void {
    this.#stopped = true;
    this.ref.stop();
  }

  /** Runs `request` after every write already sent for its sandbox (the machine sends one at a time; a restart may overlap). */
  #enqueue(request: WriteRequest): void {
    const id = request.record.sandboxId;
    const previous = this.#chains.get(id);
    const run = async () => {
      const outcome = await this.#apply(request);
      reply(request.replyTo, outcome);
      if (outcome.type === "persist.failed") this.#opts.onWriteFailed(id, outcome.error);
    };
    // Nothing in flight: the store call leaves inside this send, not a microtask later.
    const next = previous ? previous.then(run) : run();
    this.#chains.set(id, next);
    void next.finally(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    });
  }

  /** Applies one write (retrying transient failures); resolves with the answer for the machine. */
  async #apply(request: Write): Promise<Outcome> {
    const id = request.record.sandboxId;
    const retry = this.#opts.retry ?? { baseMs: 50, maxMs: 1_000 };
    const giveUpAt = Date.now() + (this.#opts.retryBudgetMs ?? 3_000);
    for (let attempt = 1; ; attempt++) {
      try {
        const stored = await this.#write(request);
        this.#last.set(id, stored);
        return { type: "persisted", record: stored };
      } catch (err) {
        if (err instanceof OwnershipLostError || (err instanceof CorralError && err.code === "not_found")) {
          const lost = err instanceof OwnershipLostError ? err : new OwnershipLostError(id, null, "record deleted");
          this.#opts.log.warn({ sandboxId: id, event: request.event, reason: lost.message }, "write refused: sandbox taken over");
          return { type: "persist.failed", error: lost };
        }
        const transient = err instanceof CorralError ? err.retryable : true;
        const delayMs = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(attempt - 1, 20));
        if (!transient || this.#stopped || Date.now() + delayMs > giveUpAt) {
          this.#opts.log.error({ sandboxId: id, event: request.event, attempts: attempt, err }, "record write failed; the sandbox stays where its record is");
          return { type: "persist.failed", error: err };
        }
        if (attempt === 1 || attempt % 10 === 0) {
          this.#opts.log.warn({ sandboxId: id, event: request.event, attempt, err: (err as Error).message }, "record write failed; retrying");
        }
        await sleep(delayMs);
      }
    }
  }

  /**
   * One attempt: a CAS at the revision this writer stored last (one round
   * trip), falling back on a conflict to `mutate`, which re-reads and runs the
   * "still mine" check.
   */
  async #write(request: Write): Promise<StoredSandbox> {
    const id = request.record.sandboxId;
    const base = this.#last.get(id);
    if (base) {
      try {
        return await this.#opts.store.updateAt(base, { record: request.record, event: request.event });
      } catch (err) {
        if (!(err instanceof RevisionConflictError)) throw err;
      }
    }
    let landed = false;
    const stored = await this.#opts.store.mutate(id, (latest) => {
      landed = this.#alreadyLanded(request, latest);
      return landed ? null : this.#decide(request, latest);
    });
    if (landed) {
      this.#opts.log.info({ sandboxId: id, event: request.event, revision: stored.revision }, "write had landed before its acknowledgement was lost");
      this.#opts.store.publishLanded(request.from, stored, request.event);
    }
    return stored;
  }

  /**
   * True when `latest` is exactly the record this write stores, one revision
   * past this writer's base: an earlier attempt of this same write reached
   * the server but its acknowledgement was lost (a timeout under load). That
   * is not someone else's write, and writing again would be a duplicate.
   */
  #alreadyLanded(request: Write, latest: StoredSandbox): boolean {
    const base = this.#last.get(request.record.sandboxId);
    if (!base || latest.revision === base.revision) return false;
    return isDeepStrictEqual({ ...latest, revision: 0 }, { ...request.record, revision: 0 });
  }

  #decide(request: Write, latest: StoredSandbox) {
    const id = request.record.sandboxId;
    const base = this.#last.get(id);
    if (latest.nodeId !== this.#opts.nodeId) throw new OwnershipLostError(id, latest, `now owned by node ${latest.nodeId}`);
    if (latest.internal.incarnation !== request.record.internal.incarnation) {
      throw new OwnershipLostError(id, latest, `now incarnation ${latest.internal.incarnation}`);
    }
    if (base && latest.revision !== base.revision) {
      throw new OwnershipLostError(id, latest, `revision ${latest.revision} written by someone else (expected ${base.revision})`);
    }
    return { record: request.record, event: request.event };
  }
}

/** What a write needs (a machine's request without its reply address). */
type Write = Omit<WriteRequest, "type" | "replyTo">;
/** The answer a machine gets for a write. */
type Outcome = { type: "persisted"; record: StoredSandbox } | { type: "persist.failed"; error: unknown };

/** Answers a machine unless it already stopped (a `killed` machine is final and takes no acks). */
function reply(to: AnyActorRef, event: Outcome): void {
  if (to.getSnapshot().status !== "active") return;
  to.send(event);
}
