/**
 * The KV baseline shared by the store and api suites: one raw CAS update
 * (`kv.update(key, value, revision)`) of a value the size of a real sandbox
 * record, in a bucket made like `corral_sandboxes` (file storage, history 2)
 * on the same server. This is the floor any Corral write stands on.
 */
import { StorageType } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { SANDBOX_HISTORY } from "../../src/store/buckets.js";
import { encodeSandboxForWrite } from "../../src/store/record-codec.js";
import { makeStoredSandbox } from "../../test/helpers/records.js";
import { nowMs } from "./stats.js";

/** A raw key to CAS-update in a loop, with its latest revision kept. */
export interface RawCas {
  kv: KV;
  /** One `kv.update` with the last revision; resolves with its ms. */
  update(): Promise<number>;
  /** One `kv.get`; resolves with its ms. */
  get(): Promise<number>;
}

/** Creates bucket `bench_raw_<suffix>` and one record-sized key in it. */
export async function openRawCas(nc: NatsConnection, suffix: string): Promise<RawCas> {
  const kv = await new Kvm(nc).create(`bench_raw_${suffix}`, { history: SANDBOX_HISTORY, storage: StorageType.File });
  const record = makeStoredSandbox();
  const key = record.sandboxId;
  const value = encodeSandboxForWrite(record);
  let revision = await kv.create(key, value);
  return {
    kv,
    async update() {
      const t0 = nowMs();
      revision = await kv.update(key, value, revision);
      return nowMs() - t0;
    },
    async get() {
      const t0 = nowMs();
      const entry = await kv.get(key);
      if (!entry) throw new Error(`raw key ${key} vanished`);
      return nowMs() - t0;
    },
  };
}
