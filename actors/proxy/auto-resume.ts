/**
 * Auto-resume (DESIGN.md, "Proxy"): a request to a paused sandbox with
 * `lifecycle.autoResume` asks the sandbox's owning node to resume it, on the
 * node's command subject (`corral.v1.node.<nodeId>.resume`, what the API
 * itself forwards to). The replica already holds the record, so it knows the
 * owner: going straight there skips the API's owner lookup (a KV read) and
 * its extra hop, and the node's reply carries the stored record (endpoint
 * included), which the replica applies at once instead of waiting for the
 * broadcast. Single-flight per sandbox in this replica (a burst of requests
 * sends one request); across replicas the owning node actor serializes
 * resumes in the sandbox's mailbox, so many replicas still make ONE
 * `resuming` transition. The proxy never writes the record itself: the node
 * is the only owner of transitions.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { CorralError, type ErrorCode } from "../../src/errors.js";
import type { SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { NodeUnreachableError, requestNode } from "../../src/node-protocol.js";
import type { StoredSandbox } from "../../src/schema/record.js";

/** Seconds a client is told to wait (`Retry-After`) when the cluster has no room to resume. */
export const CAPACITY_RETRY_AFTER_S = 5;
/** Seconds a client is told to wait when the owner is unreachable or a transition did not settle. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/** The resume was accepted: the record the node stored (normally `running`). */
export interface ResumeAccepted {
  readonly ok: true;
  readonly record: StoredSandbox;
}
/** The resume was refused (`code` from the node's error reply, or `unavailable` when it did not answer). */
export interface ResumeRefused {
  readonly ok: false;
  readonly code: ErrorCode;
  readonly message: string;
}
export type ResumeOutcome = ResumeAccepted | ResumeRefused;

/** Sends resume requests for the proxy, one in flight per sandbox. */
export class AutoResumer {
  readonly #inflight = new Map<SandboxId, Promise<ResumeOutcome>>();

  constructor(
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {}

  /**
   * Resumes the sandbox of `record` on its owner (joining the request already
   * in flight for it, if any). Never rejects: failures are outcomes.
   *
   * @param timeoutMs bound on the node's reply (the proxy's remaining wait)
   */
  resume(record: StoredSandbox, timeoutMs: number): Promise<ResumeOutcome> {
    const id = record.sandboxId;
    let p = this.#inflight.get(id);
    if (p === undefined) {
      p = this.#request(record, timeoutMs).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, p);
    }
    return p;
  }

  async #request({ sandboxId, nodeId }: StoredSandbox, timeoutMs: number): Promise<ResumeOutcome> {
    const started = Date.now();
    try {
      const { record } = await requestNode(this.nc, nodeId, { op: "resume", sandboxId }, Math.max(1, timeoutMs));
      const durationMs = Date.now() - started;
      // Logged after the waiting requests went on (a synchronous stdout write is not their business).
      setImmediate(() => this.log.info({ sandboxId, revision: record.revision, durationMs }, "auto-resumed"));
      return { ok: true, record };
    } catch (err) {
      if (err instanceof CorralError && !(err instanceof NodeUnreachableError)) {
        this.log.info({ sandboxId, code: err.code, durationMs: Date.now() - started }, "auto-resume refused");
        return { ok: false, code: err.code, message: err.message };
      }
      this.log.warn({ err, sandboxId, nodeId }, "auto-resume request failed");
      return { ok: false, code: "unavailable", message: "the sandbox's node did not answer the resume" };
    }
  }
}
