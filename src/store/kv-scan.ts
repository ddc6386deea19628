/**
 * Reading every key's latest value of a KV bucket in one pass: the stream
 * from its first message up to its last sequence at the start of the scan
 * (an `AllHistory` watch, one ordered push consumer with DeliverAll), keeping
 * each key's highest revision. A `LastValue` watch (DeliverLastPerSubject) is
 * not used: on nats-server 2.9.10, under concurrent writes, it delivered
 * values older than acknowledged ones, left keys out, and delivered keys
 * twice (test/integration/store-scan-fresh.test.ts; docs/storage.md "Reads").
 * Cost: every message the stream holds (up to `history` per key) per call.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { KvWatchInclude, type KV, type KvEntry } from "@nats-io/kv";
import { UnavailableError } from "../errors.js";
import { kvStream } from "./buckets.js";
import { mapStoreError } from "./kv-errors.js";

/** How long a scan waits for the next entry before deciding it is stuck. */
export const SCAN_STALL_MS = 10_000;

/**
 * Yields the latest entry of every key, delete/purge markers included (the
 * caller skips them), once the pass has ended; so each key is yielded once.
 *
 * The pass ends at the first entry whose revision reaches the stream's last
 * sequence read before the watch started, so continuous writes cannot keep
 * it going. Every write acknowledged before the scan began has a sequence at
 * most that one, so each key's value is at least as new as it.
 *
 * A message not yet read can be removed while the pass reads (two newer
 * writes of its key with `history` 2, or a purge, after the scan started);
 * then the pass may miss that key or keep an older value of it. Whether any
 * message was removed is exact from the stream state: every write adds one
 * message, so removed = messages before + (last sequence after - before) -
 * messages after. Only then every key the stream holds (its per-subject
 * state) is read with a direct `get` (newest by definition): O(keys) gets,
 * taken only while keys are being rewritten during the scan.
 *
 * Used for `corral_sandboxes`, which has no max-age. An empty bucket is
 * detected up front. The stall guard is a last resort: no entry at all within
 * `stallMs` ends the scan as empty; a stall after some entries means the
 * server stopped answering: `unavailable`.
 */
export async function* latestEntries(
  kv: KV,
  jsm: JetStreamManager,
  bucket: string,
  stallMs: number = SCAN_STALL_MS,
): AsyncGenerator<KvEntry> {
  const op = `scan ${bucket}`;
  let lastSeq: number;
  let messages: number;
  try {
    const status = await kv.status();
    messages = status.values;
    if (messages === 0) return;
    lastSeq = status.streamInfo.state.last_seq;
  } catch (err) {
    throw mapStoreError(err, { op });
  }
  const latest = await readUpTo(kv, op, lastSeq, stallMs);
  if (latest === null) return;
  try {
    await rereadIfRemoved(kv, jsm, bucket, { lastSeq, messages }, latest);
  } catch (err) {
    throw mapStoreError(err, { op });
  }
  yield* latest.values();
}

/** Each key's highest-revision entry among the stream's messages up to `lastSeq`; null when nothing came within `stallMs`. */
async function readUpTo(kv: KV, op: string, lastSeq: number, stallMs: number): Promise<Map<string, KvEntry> | null> {
  let watcher: Awaited<ReturnType<KV["watch"]>>;
  try {
    watcher = await kv.watch({ include: KvWatchInclude.AllHistory });
  } catch (err) {
    throw mapStoreError(err, { op });
  }
  const latest = new Map<string, KvEntry>();
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
        if (seen === 0) return null;
        throw new UnavailableError(`store unavailable: ${op} stalled after ${seen} entries`);
      }
      if (next.done) return latest;
      seen++;
      const entry = next.value;
      const known = latest.get(entry.key);
      if (known === undefined || known.revision < entry.revision) latest.set(entry.key, entry);
      // Not `delta === 0`: the server's pending count is not trusted to end a
      // scan (a LastValue watch on 2.9.10 ended before it had delivered every
      // key). A message up to `lastSeq` removed since the status was read was
      // removed by a newer write or purge marker of its key, so a message at
      // or past `lastSeq` always comes.
      if (entry.revision >= lastSeq) return latest;
    }
  } finally {
    watcher.stop();
  }
}

/** When a message was removed during the pass, replaces `latest` with a direct get of every key the stream holds. */
async function rereadIfRemoved(
  kv: KV,
  jsm: JetStreamManager,
  bucket: string,
  before: { lastSeq: number; messages: number },
  latest: Map<string, KvEntry>,
): Promise<void> {
  const after = (await kv.status()).streamInfo.state;
  if (before.messages + (after.last_seq - before.lastSeq) - after.messages === 0) return;
  const prefix = `$KV.${bucket}.`;
  const { state } = await jsm.streams.info(kvStream(bucket), { subjects_filter: `${prefix}>` });
  const keys = Object.keys(state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
  const entries = await Promise.all(keys.map((key) => kv.get(key)));
  latest.clear();
  for (const entry of entries) if (entry !== null) latest.set(entry.key, entry);
}
