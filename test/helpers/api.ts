/**
 * Raw requests to the `corral` service, below the client: exact bytes in,
 * headers and decoded body out. Contract tests use it to check what is on
 * the wire (headers, encodings); the fuzz test to send what no client would.
 */
import { Match, headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { MSGPACK_CONTENT_TYPE, decodeJson, decodeMsgpack, encodeJson, encodeMsgpack } from "../../src/codec.js";
import { subjects, type ApiOp } from "../../src/subjects.js";

/** What came back. `status`/`errorMessage` are the `Nats-Service-Error*` headers (null on success). */
export interface RawReply {
  status: string | null;
  errorMessage: string | null;
  contentType: string | null;
  body: unknown;
}

export interface RawOptions {
  /** Send `Content-Type: application/msgpack`. @default false */
  msgpack?: boolean;
  /** @default 10000 */
  timeoutMs?: number;
}

/** Sends `body` (bytes as is; anything else encoded as the options say) and decodes the reply by its Content-Type. */
export async function rawRequest(nc: NatsConnection, subject: ApiOp | string, body: Uint8Array | unknown, options: RawOptions = {}): Promise<RawReply> {
  const h = natsHeaders();
  if (options.msgpack) h.set("Content-Type", MSGPACK_CONTENT_TYPE);
  const bytes = body instanceof Uint8Array ? body : options.msgpack ? encodeMsgpack(body) : encodeJson(body);
  const target = subject.includes(".") ? subject : subjects.api(subject as ApiOp);
  const msg = await nc.request(target, bytes, { timeout: options.timeoutMs ?? 10_000, headers: h });
  const contentType = msg.headers?.get("Content-Type", Match.IgnoreCase) || null;
  const decoded = msg.data.length === 0 ? null : contentType === MSGPACK_CONTENT_TYPE ? decodeMsgpack(msg.data) : decodeJson(msg.data);
  return {
    status: msg.headers?.get("Nats-Service-Error-Code") || null,
    errorMessage: msg.headers?.get("Nats-Service-Error") || null,
    contentType,
    body: decoded,
  };
}

/** The `{error: {code, message}}` of an error reply, or undefined. */
export function errorOf(reply: RawReply): { code: string; message: string } | undefined {
  return (reply.body as { error?: { code: string; message: string } } | null)?.error;
}
