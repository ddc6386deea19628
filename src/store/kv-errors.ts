/**
 * The one place where errors from nats.js (JetStream API, connection, timeouts)
 * become CorralErrors for the store. Everything under `src/store/` calls
 * {@link mapStoreError} at its NATS boundary and nowhere else inspects a
 * foreign error.
 */
import { JetStreamApiCodes, JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { CorralError, InternalError, RevisionConflictError, UnavailableError } from "../errors.js";

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

/** Errors that mean the server could not be reached or did not answer in time. */
function isUnreachable(err: unknown): boolean {
  return (
    err instanceof TimeoutError ||
    err instanceof NoRespondersError ||
    err instanceof ClosedConnectionError ||
    err instanceof DrainingConnectionError ||
    err instanceof ConnectionError ||
    err instanceof RequestError
  );
}

/**
 * Maps anything a KV or JetStream call threw: 10071 → {@link RevisionConflictError}
 * (retryable), unreachable server → `unavailable` (retryable), any other
 * JetStream error → `unavailable` carrying the server's message, anything else
 * → `internal`. A CorralError passes through unchanged.
 */
export function mapStoreError(err: unknown, ctx: KvErrorContext): CorralError {
  if (err instanceof CorralError) return err;
  if (isWrongLastSequence(err)) {
    return new RevisionConflictError(ctx.key ?? "?", ctx.expectedRevision ?? -1, { cause: err });
  }
  if (isUnreachable(err)) return new UnavailableError(`store unavailable: ${ctx.op} failed`, { cause: err });
  if (err instanceof JetStreamApiError || err instanceof JetStreamError) {
    // A JetStream refusal other than CAS (storage full, stream gone, ...) is a
    // store problem the caller cannot fix by changing its request.
    return new UnavailableError(`store unavailable: ${ctx.op} failed: ${err.message}`, { cause: err });
  }
  return new InternalError(`store: ${ctx.op} failed`, { cause: err });
}
