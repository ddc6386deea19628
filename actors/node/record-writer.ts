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
 * Transient store failures (NATS down, timeouts) are retried with backoff
 * while the node runs: the machine already acted on the driver, so its
 * decision must land, not be dropped.
 */
import { isDeepStrictEqual } from "node:util";
import { createActor, fromCallback, type AnyActorRef } from "xstate";
import { CorralError, InternalError, RevisionConflictError } from "../../src/errors.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { TRANSIENT_STATES, type StoredSandbox } from "../../src/schema/record.js";
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
  /** Called (once per lost write) when a write found the record taken over. Must not block. */
  onOwnershipLost: (id: SandboxId, error: OwnershipLostError) => void;
  /** Retry backoff of transient store failures. @default { baseMs: 50, maxMs: 5000 } */
  retry?: { baseMs: number; maxMs: number };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes sandbox records in machine order, with the "still mine" check. */
export class RecordWriter {
  readonly #opts: RecordWriterOptions;
  readonly #chains = new Map<SandboxId, Promise<void>>();
  /** The record each sandbox's last successful write stored (the CAS base of the next). */
  readonly #last = new Map<SandboxId, StoredSandbox>();
  /** Writes sent ahead of the machine's request for them (`writeAhead`), until the machine's request adopts them. */
  readonly #ahead = new Map<SandboxId, AheadWrite>();
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
    this.#ahead.delete(id);
  }

  /**
   * Starts the write of a driver call's outcome before the machine asks for
   * it (machines/sandbox `PauseSandboxOutput.decided`): the host decided `write.record`
   * with the machine's own rule on its current context, and the machine is
   * about to take that very object and send it here. That request (same
   * record object, same event) is then answered by this write instead of
   * starting another; the write is ordered after every write sent before it,
   * like any other.
   */
  writeAhead(write: Write): void {
    const id = write.record.sandboxId;
    this.#dropUnadopted(id);
    const ahead: AheadWrite = { write, outcome: null, replyTo: null };
    this.#ahead.set(id, ahead);
    this.#chain(id, (start) =>
      start(write).then((outcome) => {
        ahead.outcome = outcome;
        if (ahead.replyTo) reply(ahead.replyTo, outcome);
        this.#afterOutcome(id, outcome);
      }),
    );
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

  #enqueue(request: WriteRequest): void {
    const id = request.record.sandboxId;
    const ahead = this.#ahead.get(id);
    if (ahead && ahead.write.record === request.record && ahead.write.event === request.event) {
      this.#ahead.delete(id);
      if (ahead.outcome) reply(request.replyTo, ahead.outcome);
      else ahead.replyTo = request.replyTo;
      return;
    }
    this.#dropUnadopted(id);
    this.#chain(id, (start) =>
      start(request).then((outcome) => {
        reply(request.replyTo, outcome);
        this.#afterOutcome(id, outcome);
      }),
    );
  }

  /** A write refused because the sandbox was taken over: once the machine has heard, the owner stops hosting it. */
  #afterOutcome(id: SandboxId, outcome: Outcome): void {
    if (outcome.type === "persist.failed" && outcome.error instanceof OwnershipLostError) this.#opts.onOwnershipLost(id, outcome.error);
  }

  /** Runs `write` after every write already sent for `id`; `start` is `#startWrite` when nothing is in flight, else `#apply`. */
  #chain(id: SandboxId, write: (start: (w: Write) => Promise<Outcome>) => Promise<void>): void {
    const previous = this.#chains.get(id);
    const next = previous ? previous.then(() => write((w) => this.#apply(w))) : write((w) => this.#startWrite(w));
    this.#chains.set(id, next);
    void next.finally(() => {
      if (this.#chains.get(id) === next) this.#chains.delete(id);
    });
  }

  /** A write sent ahead that the machine did not ask for: it lands anyway (it is what the machine decides), but that is a host bug. */
  #dropUnadopted(id: SandboxId): void {
    const ahead = this.#ahead.get(id);
    if (!ahead) return;
    this.#ahead.delete(id);
    this.#opts.log.warn({ sandboxId: id, event: ahead.write.event }, "a write sent ahead was not adopted by the machine");
  }

  /**
   * Starts a write when nothing is in flight for its sandbox. A write into a
   * transient state (pausing, resuming, killing) announces the driver call
   * that the same transition starts: it leaves once that call's request has
   * gone out (next macrotask), since the call is what the client waits for
   * and the write's ack is needed only by the final write. Any other write
   * (the outcome of a driver call) leaves at once, inside the transition,
   * instead of after it and its observers. A crash between the driver call
   * and the write is settled by reconciliation (record and container are
   * compared at start-up; see reconcile.ts).
   */
  #startWrite(request: Write): Promise<Outcome> {
    if (!TRANSIENT_STATES.includes(request.record.state)) return this.#apply(request);
    return new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#apply(request));
  }

  /** Applies one write (retrying transient failures); resolves with the answer for the machine. */
  async #apply(request: Write): Promise<Outcome> {
    const id = request.record.sandboxId;
    const retry = this.#opts.retry ?? { baseMs: 50, maxMs: 5_000 };
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
        if (!transient || this.#stopped) {
          this.#opts.log.error({ sandboxId: id, event: request.event, err }, "record write failed");
          return { type: "persist.failed", error: err };
        }
        const delayMs = Math.min(retry.maxMs, retry.baseMs * 2 ** Math.min(attempt - 1, 20));
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

/** A write started by `writeAhead`: its answer, kept until the machine's request for it arrives. */
interface AheadWrite {
  write: Write;
  outcome: Outcome | null;
  replyTo: AnyActorRef | null;
}

/** Answers a machine unless it already stopped (a `killed` machine is final and takes no acks). */
function reply(to: AnyActorRef, event: Outcome): void {
  if (to.getSnapshot().status !== "active") return;
  to.send(event);
}
