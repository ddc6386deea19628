/**
 * store: what the sandbox store adds to the raw KV (the floor under every node
 * and API latency). `SandboxStore.mutate` (re-read, validate, decide, CAS
 * update, event) against one raw `kv.update` with the revision of a
 * record-sized value, and against a raw get + update; `SandboxStore.get`
 * against `kv.get`; and the wake-up cost: a raw `kv.update` after `idleMs` of
 * quiet (as a node's write after an engine call is) against the same back to back.
 */
import { resolveConfig } from "../../src/config.js";
import type { SandboxId } from "../../src/ids.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { makeStoredSandbox } from "../../test/helpers/records.js";
import { alternate, latencyRows } from "../lib/measure.js";
import { openRawCas } from "../lib/raw-kv.js";
import { nowMs } from "../lib/stats.js";
import { defineSuite, type Row } from "../lib/types.js";

export const suite = defineSuite({
  name: "store",
  description: "SandboxStore.mutate / get vs raw kv.update (CAS) / kv.get",
  params: {
    iterations: { default: 2000, quick: 100, doc: "recorded operations per side" },
    warmup: { default: 200, quick: 10, doc: "unrecorded operations per side first" },
    idleMs: { default: 10, quick: 10, doc: "quiet time before each update of the wake-up row (ms)" },
  },
  async run({ nats, params, cleanup }) {
    const nc = await nats.connect();
    cleanup(() => nc.close());
    const store = await SandboxStore.open(nc, resolveConfig({}, {}));
    const raw = await openRawCas(nc, "store");
    const { record } = await store.createIfAbsent(makeStoredSandbox());
    const id: SandboxId = record.sandboxId;

    const mutate = async () => {
      const t0 = nowMs();
      await store.mutate(id, (latest) => ({ record: { ...latest, lastActiveAt: Date.now() }, event: "set_timeout" }));
      return nowMs() - t0;
    };
    const get = async () => {
      const t0 = nowMs();
      await store.get(id);
      return nowMs() - t0;
    };
    const { iterations, warmup, idleMs } = params;
    const writes = latencyRows("mutate vs kv.update", await alternate(iterations, warmup, raw.update, mutate));
    // mutate is a read and a write: the raw read+write shows how much of the gap is the extra round trip.
    const rawReadWrite = async () => (await raw.get()) + (await raw.update());
    const readWrite = latencyRows("mutate vs kv.get+kv.update", await alternate(iterations, warmup, rawReadWrite, mutate));
    const reads = latencyRows("get vs kv.get", await alternate(iterations, warmup, raw.get, get));
    const afterIdle = async () => {
      await new Promise((resolve) => setTimeout(resolve, idleMs));
      return raw.update();
    };
    // A quarter of the iterations: each one sleeps idleMs.
    const wake = latencyRows(`kv.update after ${idleMs} ms idle vs back to back`, await alternate(Math.ceil(iterations / 4), warmup, raw.update, afterIdle));
    const rows: Row[] = [...writes.rows, ...readWrite.rows, ...reads.rows, ...wake.rows];
    return {
      rows,
      notes: [
        "context only (no target): every Corral write is a mutate, so this is the floor under node and API latencies",
        "the wake-up row is raw KV on both sides: what one cross-process round trip costs here when the processes were idle (docs/performance.md)",
      ],
      details: { writes: writes.summaries, readWrite: readWrite.summaries, reads: reads.summaries, wake: wake.summaries },
    };
  },
});
