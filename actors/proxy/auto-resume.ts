/**
 * Auto-resume (DESIGN.md, "Proxy"): a request to a paused sandbox with
 * `lifecycle.autoResume` asks the API to resume it. Single-flight per sandbox
 * in this replica (a burst of requests sends one request); across replicas
 * the owning node actor serializes resumes, so many replicas still make ONE
 * `resuming` transition. The proxy never writes the record itself: the node
 * is the only owner of transitions.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { decodeJson, encodeJson } from "../../src/codec.js";
import { isErrorCode, type ErrorCode } from "../../src/errors.js";
import type { SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { subjects } from "../../src/subjects.js";

/** Seconds a client is told to wait (`Retry-After`) when the cluster has no room to resume. */
export const CAPACITY_RETRY_AFTER_S = 5;
/** Seconds a client is told to wait when the API is unreachable or a transition did not settle. */
export const UNAVAILABLE_RETRY_AFTER_S = 1;

/** The resume was accepted; the record's revision after it. */
export interface ResumeAccepted {
  readonly ok: true;
  /** Revision of the record the API answered with (`running`). */
  readonly revision: number;
}
/** The resume was refused (`code` from the API's error reply, or `unavailable` when no API answered). */
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
   * Resumes `id` (joining the request already in flight for it, if any).
   * Never rejects: failures are outcomes.
   *
   * @param timeoutMs bound on the API's reply (the proxy's remaining wait)
   */
  resume(id: SandboxId, timeoutMs: number): Promise<ResumeOutcome> {
    let p = this.#inflight.get(id);
    if (p === undefined) {
      p = this.#request(id, timeoutMs).finally(() => this.#inflight.delete(id));
      this.#inflight.set(id, p);
    }
    return p;
  }

  async #request(id: SandboxId, timeoutMs: number): Promise<ResumeOutcome> {
    const started = Date.now();
    try {
      const msg = await this.nc.request(subjects.api("resume"), encodeJson({ sandboxId: id }), { timeout: Math.max(1, timeoutMs) });
      const body = msg.data.length > 0 ? decodeJson<Record<string, unknown>>(msg.data) : {};
      if (msg.headers?.get("Nats-Service-Error-Code")) {
        const err = (body.error ?? {}) as { code?: unknown; message?: unknown };
        const code: ErrorCode = isErrorCode(err.code) ? err.code : "unavailable";
        const message = typeof err.message === "string" ? err.message : (msg.headers.get("Nats-Service-Error") ?? "resume failed");
        this.log.info({ sandboxId: id, code, durationMs: Date.now() - started }, "auto-resume refused");
        return { ok: false, code, message };
      }
      const revision = typeof body.revision === "number" ? body.revision : 0;
      this.log.info({ sandboxId: id, revision, durationMs: Date.now() - started }, "auto-resumed");
      return { ok: true, revision };
    } catch (err) {
      this.log.warn({ err, sandboxId: id }, "auto-resume request failed");
      return { ok: false, code: "unavailable", message: "the sandbox API did not answer the resume" };
    }
  }
}
