// Store CAS discipline and events (issue 3 item 4): no lost update under
// contention, exactly one creator per key, one event per write carrying the
// record's revision (on core NATS and in the CORRAL_EVENTS stream), CAS delete
// of tombstones, and corrupt values reported instead of crashing.
import { jetstream } from "@nats-io/jetstream";
import { Kvm } from "@nats-io/kv";
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { resolveConfig } from "../../src/config.js";
import { ConflictError, GoneError, InternalError, NotFoundError } from "../../src/errors.js";
import { decodeEvent, subscribeEvents, type SandboxEvent } from "../../src/events.js";
import { newSandboxId, type SandboxId } from "../../src/ids.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { EVENTS_STREAM, SANDBOX_BUCKET, sandboxKey, subjects } from "../../src/subjects.js";
import { useStore } from "../helpers/fixture.js";
import { makeStoredSandbox } from "../helpers/records.js";

describe("SandboxStore CAS and events", () => {
  const fixture = useStore();
  let nc: NatsConnection;
  let store: SandboxStore;

  beforeAll(() => void ({ nc, store } = fixture));

  /** Collects one sandbox's events; `settle()` returns them once everything published so far has arrived. */
  function collect(id: SandboxId): { events: SandboxEvent[]; sub: Subscription; settle(): Promise<SandboxEvent[]> } {
    const events: SandboxEvent[] = [];
    const sub = subscribeEvents(nc, (e) => events.push(e), (err) => { throw err; }, subjects.sandboxEvents(id));
    // Same connection as the publisher: the server delivers every message
    // published before the flush's PING ahead of its PONG.
    return { events, sub, settle: async () => (await nc.flush(), events) };
  }

  it("loses no update when 50 set_timeout decisions race on one key", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox());
    const id = created.sandboxId;
    const { settle, sub } = collect(id);
    await nc.flush(); // the subscription is live before the writes
    const base = created.endAt! + 1_000_000;
    // The revision each caller's last decision was made from.
    const decidedFrom = new Array<number>(50);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        store.mutate(id, (latest) => {
          decidedFrom[i] = latest.revision;
          return { record: { ...latest, endAt: base + i }, event: "set_timeout" };
        }),
      ),
    );
    const won = outcomes.flatMap((o, i) => (o.status === "fulfilled" ? [{ i, record: o.value }] : []));
    const lost = outcomes.filter((o) => o.status === "rejected");
    for (const o of lost) expect(o.reason).toBeInstanceOf(ConflictError);
    expect(won.length).toBeGreaterThan(0);
    // Each success answered with what it decided, at a distinct revision.
    for (const w of won) expect(w.record.endAt).toBe(base + w.i);
    expect(new Set(won.map((w) => w.record.revision)).size).toBe(won.length);

    // Every write was decided from the record the previous write left: no
    // value was decided from a stale read.
    const chain = [...won].sort((a, b) => a.record.revision - b.record.revision);
    chain.forEach((w, k) => expect(decidedFrom[w.i]).toBe(k === 0 ? created.revision : chain[k - 1]!.record.revision));
    const highest = chain.at(-1)!;
    const final = await store.get(id);
    expect(final?.endAt).toBe(base + highest.i);
    expect(final?.revision).toBe(highest.record.revision);

    const events = await settle();
    sub.unsubscribe();
    expect(events).toHaveLength(won.length);
    const revisions = events.map((e) => e.revision);
    for (let k = 1; k < revisions.length; k++) expect(revisions[k]).toBeGreaterThan(revisions[k - 1]!);
    const byRevision = new Map(won.map((w) => [w.record.revision, w.record]));
    for (const e of events) {
      expect(e).toMatchObject({ sandboxId: id, from: "running", to: "running", event: "set_timeout", nodeId: "node-1" });
      expect(e.record).toEqual(byRevision.get(e.revision));
    }
  });

  it("re-decides from the latest record: concurrent increments all count", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox({ timeoutMs: 1000 }));
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        store.mutate(created.sandboxId, (latest) => ({ record: { ...latest, timeoutMs: latest.timeoutMs + 1 }, event: "set_timeout" }), {
          maxAttempts: 200,
        }),
      ),
    );
    expect(results.map((r) => r.timeoutMs).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => 1001 + i));
    expect((await store.get(created.sandboxId))?.timeoutMs).toBe(1020);
  });

  it("lets exactly one of 10 concurrent createIfAbsent callers create, with one event", async () => {
    const id = newSandboxId();
    const { settle } = collect(id);
    await nc.flush();
    const candidates = Array.from({ length: 10 }, (_, i) => makeStoredSandbox({ sandboxId: id, metadata: { caller: String(i) } }));
    const results = await Promise.all(candidates.map((c) => store.createIfAbsent(c)));
    const winners = results.filter((r) => r.created);
    expect(winners).toHaveLength(1);
    const winner = winners[0]!.record;
    for (const r of results.filter((x) => !x.created)) expect(r.record).toEqual(winner);
    expect(await store.get(id)).toEqual(winner);
    const events = await settle();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ from: null, to: "running", event: "create", revision: winner.revision });
  });

  it("publishes an event with the record's revision that the CORRAL_EVENTS stream keeps", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox());
    const paused = await store.mutate(created.sandboxId, (latest) => ({ record: { ...latest, state: "pausing" }, event: "pause" }));
    expect(paused.revision).toBeGreaterThan(created.revision);

    const consumer = await jetstream(nc).consumers.get(EVENTS_STREAM, { filter_subjects: subjects.sandboxEvents(created.sandboxId) });
    const replayed: SandboxEvent[] = [];
    for (let k = 0; k < 2; k++) {
      const msg = await consumer.next({ expires: 5_000 });
      expect(msg, "event missing from the stream").not.toBeNull();
      replayed.push(decodeEvent(msg!.data));
    }
    await consumer.delete();
    expect(replayed.map((e) => [e.event, e.from, e.to, e.revision])).toEqual([
      ["create", null, "running", created.revision],
      ["pause", "running", "pausing", paused.revision],
    ]);
    expect(replayed[1]!.record).toEqual(paused);
  });

  it("writes nothing and publishes nothing when decide returns null or throws", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox());
    const { settle } = collect(created.sandboxId);
    await nc.flush();
    expect(await store.mutate(created.sandboxId, () => null)).toEqual(created);
    await expect(
      store.mutate(created.sandboxId, () => {
        throw new GoneError("sandbox is killed");
      }),
    ).rejects.toBeInstanceOf(GoneError);
    expect((await store.get(created.sandboxId))?.revision).toBe(created.revision);
    expect(await settle()).toHaveLength(0);
  });

  it("publishes an updateAt event on flushEvents or at the end of the macrotask, in acknowledgement order", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox());
    const { settle, sub } = collect(created.sandboxId);
    await nc.flush();
    const first = await store.updateAt(created, { record: { ...created, endAt: created.endAt! + 1 }, event: "set_timeout" });
    // Nobody flushes this one: it leaves by itself once the macrotask ends.
    await new Promise((resolve) => setImmediate(resolve));
    expect((await settle()).map((e) => e.revision)).toEqual([first.revision]);

    const second = await store.updateAt(first, { record: { ...first, endAt: first.endAt! + 1 }, event: "set_timeout" });
    store.flushEvents(); // what the node does right after sending its reply
    const third = await store.mutate(created.sandboxId, (l) => ({ record: { ...l, endAt: l.endAt! + 1 }, event: "refresh" }));
    const events = await settle();
    sub.unsubscribe();
    expect(events.map((e) => [e.revision, e.event])).toEqual([
      [first.revision, "set_timeout"],
      [second.revision, "set_timeout"],
      [third.revision, "refresh"],
    ]);
    expect(events[1]!.record).toEqual(second);
  });

  it("flushEventsAfterReply publishes the held event in a later microtask, behind the reply", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox());
    const { settle, sub } = collect(created.sandboxId);
    await nc.flush();
    const updated = await store.updateAt(created, { record: { ...created, endAt: created.endAt! + 1 }, event: "set_timeout" });
    const publish = vi.spyOn(nc, "publish");
    try {
      nc.publish(`test.reply.${created.sandboxId}`, new Uint8Array(0)); // the caller's reply
      store.flushEventsAfterReply();
      // nats.js writes the reply in the microtask its publish queued; the event is not even encoded yet.
      expect(publish.mock.calls.map(([subject]) => subject)).toEqual([`test.reply.${created.sandboxId}`]);
      await new Promise<void>((resolve) => queueMicrotask(resolve));
      expect(publish.mock.calls.map(([subject]) => subject)).toEqual([`test.reply.${created.sandboxId}`, subjects.sandboxEvents(created.sandboxId)]);
    } finally {
      publish.mockRestore();
    }
    const events = await settle();
    sub.unsubscribe();
    expect(events.map((e) => [e.revision, e.event])).toEqual([[updated.revision, "set_timeout"]]);
  });

  it("refuses to write an invalid decided record", async () => {
    const { record: created } = await store.createIfAbsent(makeStoredSandbox());
    await expect(
      store.mutate(created.sandboxId, (latest) => ({ record: { ...latest, endAt: -5 }, event: "set_timeout" })),
    ).rejects.toBeInstanceOf(InternalError);
    expect(await store.get(created.sandboxId)).toEqual(created);
  });

  it("answers not_found for mutate on an absent key", async () => {
    await expect(store.mutate(newSandboxId(), (l) => ({ record: l, event: "x" }))).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.get(newSandboxId())).toBeNull();
  });

  it("deletes a tombstone only at its revision, then lets the id be created again", async () => {
    const { record: alive } = await store.createIfAbsent(makeStoredSandbox());
    const id = alive.sandboxId;
    await expect(store.deleteIfRevision(id, alive.revision)).rejects.toBeInstanceOf(ConflictError);
    const killed = await store.mutate(id, (l) => ({
      record: { ...l, state: "killed", killReason: "request", internal: { ...l.internal, killedAt: Date.now() } },
      event: "killed",
    }));
    expect(await store.deleteIfRevision(id, alive.revision)).toBe(false);
    expect(await store.get(id)).toEqual(killed);
    expect(await store.deleteIfRevision(id, killed.revision)).toBe(true);
    expect(await store.get(id)).toBeNull();
    expect(await store.deleteIfRevision(id, killed.revision)).toBe(false);
    await expect(store.mutate(id, (l) => ({ record: l, event: "x" }))).rejects.toBeInstanceOf(NotFoundError);

    const again = await store.createIfAbsent(makeStoredSandbox({ sandboxId: id, internal: { incarnation: 2 } }));
    expect(again.created).toBe(true);
    expect(again.record.internal.incarnation).toBe(2);
  });

  it("reports a corrupt stored value as internal on get and skips it in scan", async () => {
    const kv = await new Kvm(nc).open(SANDBOX_BUCKET);
    const garbage = newSandboxId();
    const wrongShape = newSandboxId();
    await kv.put(sandboxKey(garbage), new Uint8Array([0xc1, 0xff, 0x00]));
    await kv.put(sandboxKey(wrongShape), new TextEncoder().encode("{}"));
    const { record: good } = await store.createIfAbsent(makeStoredSandbox());
    await expect(store.get(garbage)).rejects.toBeInstanceOf(InternalError);
    await expect(store.get(wrongShape)).rejects.toBeInstanceOf(InternalError);
    const ids: string[] = [];
    for await (const r of store.scan()) ids.push(r.sandboxId);
    expect(ids).toContain(good.sandboxId);
    expect(ids).not.toContain(garbage);
    expect(ids).not.toContain(wrongShape);
    await kv.delete(sandboxKey(garbage));
    await kv.delete(sandboxKey(wrongShape));
  });

  it("opens existing buckets and stream again, applying changed event limits", async () => {
    const changed = resolveConfig({ eventsMaxAgeMs: 3_600_000, eventsMaxBytes: 1_048_576 }, {});
    const again = await SandboxStore.open(nc, changed);
    const info = await (await jetstream(nc).jetstreamManager()).streams.info(EVENTS_STREAM);
    expect(info.config.max_age).toBe(3_600_000 * 1_000_000);
    expect(info.config.max_bytes).toBe(1_048_576);
    expect(info.config.subjects).toEqual([subjects.eventsStreamFilter]);
    const sample: StoredSandbox = makeStoredSandbox();
    expect((await again.createIfAbsent(sample)).created).toBe(true);
    expect((await store.get(sample.sandboxId))?.sandboxId).toBe(sample.sandboxId);
  });
});
