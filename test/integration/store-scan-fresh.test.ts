// The bucket scan behind list / resync / reconcile (src/store/kv-scan.ts)
// against a real nats-server under bursty concurrent CAS writes: several
// writer connections each update a burst of keys at once (compare-and-swap,
// as the store does), several scanner connections scan in between. Every
// entry a scan yields (not only the last one per key: `list` keeps them all)
// must be at least as new as every write of its key acknowledged before the
// scan started, each key must be yielded once, and every scan must end
// although writes never pause.
import { jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openSandboxBucket } from "../../src/store/buckets.js";
import { latestEntries } from "../../src/store/kv-scan.js";
import { SANDBOX_BUCKET } from "../../src/subjects.js";
import { startNats, type NatsServer } from "../helpers/nats.js";

const KEYS = 120;
const WRITERS = 3;
const SCANNERS = 3;
const BURST = 20;
const RUN_MS = 6_000;
/** About the size of a msgpack sandbox record. */
const VALUE = new Uint8Array(700).fill(7);

describe("latestEntries under bursty concurrent CAS writes", () => {
  let server: NatsServer;
  let nc: NatsConnection;
  let kv: KV;

  beforeAll(async () => {
    server = await startNats();
    nc = await server.connect();
    kv = await openSandboxBucket(nc);
  });
  afterAll(async () => {
    await nc?.close();
    await server?.stop();
  });

  it("yields each key once, never older than a write acknowledged before the scan started, and each scan ends", async () => {
    const keys = Array.from({ length: KEYS }, (_, i) => `k${i}`);
    /** Per key, the newest revision a write was acknowledged at. */
    const acked = new Map<string, number>();
    /** Per key, the newest revision a writer knows (its CAS base). */
    const known = new Map<string, number>();
    for (const key of keys) {
      const revision = await kv.create(key, VALUE);
      acked.set(key, revision);
      known.set(key, revision);
    }
    const until = Date.now() + RUN_MS;
    // Every writer and scanner on its own connection, as separate processes would be.
    const conns = await Promise.all(Array.from({ length: WRITERS + SCANNERS }, () => server.connect()));
    const kvs = await Promise.all(conns.map((c) => openSandboxBucket(c)));
    const jsms = await Promise.all(conns.map((c) => jetstreamManager(c)));
    let writes = 0;
    const writer = async (w: number, kv: KV) => {
      for (let round = 0; Date.now() < until; round++) {
        const burst = Array.from({ length: BURST }, (_, i) => keys[(w * 37 + round * BURST + i * 5) % KEYS]!);
        await Promise.all(
          [...new Set(burst)].map(async (key) => {
            // CAS on the newest revision this writer knows; a lost race re-reads next round.
            const revision = await kv.update(key, VALUE, known.get(key)!).catch(() => null);
            if (revision === null) {
              const latest = await kv.get(key);
              if (latest) known.set(key, Math.max(known.get(key)!, latest.revision));
              return;
            }
            writes++;
            acked.set(key, Math.max(acked.get(key)!, revision));
            known.set(key, Math.max(known.get(key)!, revision));
          }),
        );
      }
    };
    let scans = 0;
    const stale: string[] = [];
    const missing: string[] = [];
    const duplicates: string[] = [];
    const scanner = async (kv: KV, jsm: JetStreamManager) => {
      while (Date.now() < until) {
        const before = new Map(acked);
        const seen = new Set<string>();
        for await (const entry of latestEntries(kv, jsm, SANDBOX_BUCKET, 5_000)) {
          if (seen.has(entry.key)) duplicates.push(`${entry.key}@${entry.revision}`);
          seen.add(entry.key);
          const min = before.get(entry.key) ?? 0;
          if (entry.revision < min) stale.push(`${entry.key}: got ${entry.revision}, acked ${min}`);
        }
        for (const key of keys) if (!seen.has(key)) missing.push(key);
        scans++;
      }
    };
    await Promise.all([...kvs.slice(0, WRITERS).map((k, w) => writer(w, k)), ...kvs.slice(WRITERS).map((k, i) => scanner(k, jsms[WRITERS + i]!))]);
    await Promise.all(conns.map((c) => c.close()));
    console.info(`scan freshness: ${scans} scans, ${writes} acknowledged writes, ${stale.length} stale entries, ${missing.length} keys missing, ${duplicates.length} keys yielded twice`);
    expect(scans).toBeGreaterThan(20);
    expect(stale.slice(0, 10)).toEqual([]);
    expect(missing.slice(0, 10)).toEqual([]);
    expect(duplicates.slice(0, 10)).toEqual([]);
  }, 60_000);
});
