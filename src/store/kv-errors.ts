/**
 * The one place where errors from nats.js (JetStream API, connection, timeouts)
 * become CorralErrors for the store. Everything under `src/store/` calls
 * {@link mapStoreError} at its NATS boundary and nowhere else inspects a
 * foreign error.
 *
 * The rule (DESIGN.md, "Cluster": no success without a write): a store that
 * cannot take or serve a request right now — no JetStream leader for the
 * stream, JetStream not (yet) enabled, nobody answering the API subject, a
 * timeout, quorum lost, the connection closed or reconnecting — is
 * `unavailable` and retryable, never `internal`. Classification goes by
 * error class and JetStream error code, never by message text.
 */
import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
// JetStreamNotEnabled is only exported through the internal entry point; it is
// what a publish or API request gets when nobody answers (no stream leader).
import { jserrors } from "@nats-io/jetstream/internal";
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { CorralError, InternalError, RevisionConflictError, UnavailableError } from "../errors.js";

const { JetStreamNotEnabled } = jserrors;

/** What the failing call was doing, so the mapped error can name it. */
export interface KvErrorContext {
  /** What was attempted, e.g. `update corral_sandboxes/<id>`. */
  op: string;
  /** The KV key involved (for a revision conflict). */
  key?: string;
  /** The revision the write expected (for a revision conflict); 0 for a create. */
  expectedRevision?: number;
}

/**
 * True for JetStream's "wrong last sequence" (10071, and 10164 where the
 * server cannot tell the last sequence): a CAS write (`create`, `update`,
 * delete with `previousSeq`) lost to another writer.
 */
export function isWrongLastSequence(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

/**
 * True when the store could not be reached or did not answer in time: the
 * request timed out, nobody answered the subject (a stream with no leader
 * answers a publish with "no responders", which nats.js reports as
 * `JetStreamNotEnabled`), the connection is closed, draining or broken.
 * While reconnecting, nats.js buffers requests, so those end as timeouts.
 */
export function isStoreUnreachable(err: unknown): boolean {
  return (
    err instanceof TimeoutError ||
    err instanceof NoRespondersError ||
    err instanceof JetStreamNotEnabled ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof ConnectionError ||
    err instanceof RequestError
  );
}

/**
 * True for any refusal by JetStream itself other than a lost CAS: an API
 * error (no meta leader 10008, stream offline 10118, insufficient resources,
 * ...) or a status (503 no responders, 408, leadership change). The caller
 * cannot fix those by changing its request; they pass once the cluster heals.
 */
export function isJetStreamRefusal(err: unknown): boolean {
  return err instanceof JetStreamApiError || err instanceof JetStreamError;
}

/**
 * Maps anything a KV or JetStream call threw: 10071/10164 →
 * {@link RevisionConflictError} (retryable); an unreachable store or any other
 * JetStream refusal → {@link UnavailableError} (retryable) carrying the
 * server's message; anything else (a bug: an invalid key, a decode failure)
 * → `internal`. A CorralError passes through unchanged.
 */
export function mapStoreError(err: unknown, ctx: KvErrorContext): CorralError {
  if (err instanceof CorralError) return err;
  if (isWrongLastSequence(err)) {
    return new RevisionConflictError(ctx.key ?? "?", ctx.expectedRevision ?? -1, { cause: err });
  }
  if (isStoreUnreachable(err) || isJetStreamRefusal(err)) {
    return new UnavailableError(`store unavailable: ${ctx.op} failed: ${(err as Error).message}`, { cause: err });
  }
  return new InternalError(`store: ${ctx.op} failed`, { cause: err });
}
