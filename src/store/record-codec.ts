/**
 * Sandbox records in the KV: msgpack of `StoredSandbox`. The `revision` field
 * inside the stored bytes is meaningless (a value cannot know the revision it
 * will be stored at); readers always take the KV entry's revision.
 */
import type { KvEntry } from "@nats-io/kv";
import { encodeMsgpack, decodeMsgpack } from "../codec.js";
import { InternalError } from "../errors.js";
import { StoredSandboxSchema, type StoredSandbox } from "../schema/record.js";
import { markChecked, recordProblem } from "./record-check.js";

/** Result of decoding an entry: the record, or why its bytes are not one. */
export type DecodedEntry = { ok: true; record: StoredSandbox } | { ok: false; reason: string };

/** True for an entry that is a delete or purge marker (the key is absent). */
export function isDeletion(entry: KvEntry): boolean {
  return entry.operation === "DEL" || entry.operation === "PURGE";
}

/**
 * Decodes and validates a PUT entry, setting `revision` from the entry.
 * Never throws: corrupt bytes or a value that fails the schema come back as
 * `{ok: false}` so a scan can log and skip them.
 */
export function decodeSandboxEntry(entry: KvEntry): DecodedEntry {
  let raw: unknown;
  try {
    raw = decodeMsgpack(entry.value);
  } catch (err) {
    return { ok: false, reason: `not msgpack: ${(err as Error).message}` };
  }
  const parsed = StoredSandboxSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: parsed.error.message };
  return { ok: true, record: markChecked({ ...parsed.data, revision: entry.revision }) };
}

/**
 * Validates a record about to be written and encodes it. A record that fails
 * the schema is a bug in the code that decided it: `internal`, nothing written.
 * `base`, the record it was decided from, lets the check skip the fields
 * that did not change (./record-check.ts).
 */
export function encodeSandboxForWrite(record: StoredSandbox, base?: StoredSandbox): Uint8Array {
  const problem = recordProblem(record, base);
  if (problem !== null) {
    throw new InternalError(`refusing to write an invalid record for ${record.sandboxId}: ${problem}`);
  }
  return encodeMsgpack(record);
}
