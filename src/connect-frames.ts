/**
 * The Connect protocol's framing for streaming RPCs with JSON
 * (`application/connect+json`): every message is an envelope, one flags
 * byte (0 = message, 2 = end of stream) and a 4-byte big-endian length, then
 * the JSON. The end-of-stream envelope carries `{}` or `{"error": {code,
 * message}}`. E2B's SDK (connect-web) speaks this to envd.
 */

/** Flags of the last envelope of a stream. */
export const END_STREAM_FLAG = 0x02;

/** Connect error codes used here (the protocol's names). */
export type ConnectCode = "invalid_argument" | "unauthenticated" | "not_found" | "unavailable" | "internal" | "deadline_exceeded" | "resource_exhausted";

/** One envelope around `message` serialized as JSON. */
export function envelope(message: unknown, flags = 0): Buffer {
  const json = Buffer.from(JSON.stringify(message), "utf8");
  const out = Buffer.allocUnsafe(5 + json.length);
  out[0] = flags;
  out.writeUInt32BE(json.length, 1);
  json.copy(out, 5);
  return out;
}

/** The end-of-stream envelope: success, or an error with its Connect code. */
export function endStream(error?: { code: ConnectCode; message: string }): Buffer {
  return envelope(error ? { error } : {}, END_STREAM_FLAG);
}

/**
 * The first message of an enveloped request body (a server-streaming call
 * sends exactly one). Throws on a truncated or non-JSON body.
 */
export function firstMessage(body: Buffer): unknown {
  if (body.length < 5) throw new Error("request body is not a Connect envelope");
  const length = body.readUInt32BE(1);
  if (body.length < 5 + length) throw new Error("request envelope is truncated");
  if ((body[0]! & 0x01) !== 0) throw new Error("compressed request envelopes are not supported");
  return JSON.parse(body.subarray(5, 5 + length).toString("utf8"));
}

/** HTTP status of a Connect error code in a unary reply (the protocol's table). */
export function httpStatusOf(code: ConnectCode): number {
  switch (code) {
    case "invalid_argument":
      return 400;
    case "unauthenticated":
      return 401;
    case "not_found":
      return 404;
    case "resource_exhausted":
      return 429;
    case "unavailable":
      return 503;
    case "deadline_exceeded":
      return 504;
    default:
      return 500;
  }
}
