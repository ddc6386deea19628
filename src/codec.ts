/**
 * Wire encodings. msgpack (msgpackr, plain maps so any msgpack reader can
 * decode) for the KV and events; JSON for clients that do not ask for msgpack.
 */
import { Packr } from "msgpackr";
import { InvalidArgumentError } from "./errors.js";

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: "number" });
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

export const MSGPACK_CONTENT_TYPE = "application/msgpack";
export const JSON_CONTENT_TYPE = "application/json";

export type Encoding = "json" | "msgpack";

export function encodeMsgpack(value: unknown): Uint8Array {
  return packr.pack(value);
}

export function decodeMsgpack<T = unknown>(bytes: Uint8Array): T {
  return packr.unpack(bytes) as T;
}

export function encodeJson(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

export function decodeJson<T = unknown>(bytes: Uint8Array): T {
  return JSON.parse(decoder.decode(bytes)) as T;
}

export function encodeAs(encoding: Encoding, value: unknown): Uint8Array {
  return encoding === "msgpack" ? encodeMsgpack(value) : encodeJson(value);
}

/**
 * Decodes a request body. An empty body is `{}` (so `nats req subj ''` works
 * for ops without required fields). Undecodable bytes are `invalid_argument`.
 */
export function decodeBody(encoding: Encoding, bytes: Uint8Array): unknown {
  if (bytes.length === 0) return {};
  try {
    return encoding === "msgpack" ? decodeMsgpack(bytes) : decodeJson(bytes);
  } catch (err) {
    throw new InvalidArgumentError(`body is not valid ${encoding === "msgpack" ? "msgpack" : "JSON"}`, { cause: err });
  }
}

/** The encoding a request asked for by its `Content-Type` header (JSON unless msgpack). */
export function encodingOf(contentType: string | undefined | null): Encoding {
  return contentType?.toLowerCase().startsWith(MSGPACK_CONTENT_TYPE) ? "msgpack" : "json";
}
