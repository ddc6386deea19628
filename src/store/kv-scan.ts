/**
 * Reading every key's latest value of a KV bucket in one pass: a watcher with
 * `LastValue` (one ordered push consumer delivering the last message per
 * subject) that stops when it has caught up, instead of one `get` per key.
 * Cost: O(keys) messages per call, delete markers included; see docs/storage.md.
 */
import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import { UnavailableError } from "../errors.js";
import { mapStoreError } from "./kv-errors.js";

/** How long a scan waits for the next entry before deciding it is stuck. */
export const SCAN_STALL_MS = 10_000;

/**
 * Yields the latest entry of every key, delete/purge markers included (the
 * caller skips them), then returns. The end is detected by `entry.delta === 0`
 * (nothing pending after it), never by `isUpdate`.
 *
 * An empty bucket delivers nothing, so it is detected up front from the
 * stream's message count. Used for `corral_sandboxes`, which has no max-age:
 * a delete or purge leaves a marker, so every key counted is delivered. (The
 * node bucket, whose max-age removes messages, is listed another way: see
 * NodeRegistry.list.) The stall guard is a last resort: no entry at all within
 * `stallMs` ends the scan as empty; a stall after some entries means the
 * server stopped answering: `unavailable`.
 */
export async function* latestEntries(kv: KV, bucket: string, stallMs: number = SCAN_STALL_MS): AsyncGenerator<KvEntry> {
  const op = `scan ${bucket}`;
  let messages: number;
  try {
    messages = (await kv.status()).values;
  } catch (err) {
    throw mapStoreError(err, { op });
  }
  if (messages === 0) return;
  let watcher: Awaited<ReturnType<KV["watch"]>>;
  try {
    watcher = await kv.watch({ include: KvWatchInclude.LastValue });
  } catch (err) {
    throw mapStoreError(err, { op });
  }
  const it = watcher[Symbol.asyncIterator]();
  let seen = 0;
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<"stalled">((resolve) => {
        timer = setTimeout(() => resolve("stalled"), stallMs);
      });
      const next = await Promise.race([it.next(), stalled]).finally(() => clearTimeout(timer));
      if (next === "stalled") {
        if (seen === 0) return;
        throw new UnavailableError(`store unavailable: ${op} stalled after ${seen} entries`);
      }
      if (next.done) return;
      seen++;
      yield next.value;
      if (next.value.delta === 0) return;
    }
  } finally {
    watcher.stop();
  }
}
