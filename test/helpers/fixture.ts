/**
 * Per-file fixtures: a setup registered with the file's `beforeAll`, torn
 * down by its `afterAll` in reverse order, also when the setup failed halfway
 * ({@link useFixture}). The light ones live here:
 *
 * - {@link useNats}: a real nats-server (test/helpers/nats.ts), a test
 *   connection, and every sandbox event collected from it (for files that
 *   start nodes per test);
 * - {@link useStore}: that, plus a `SandboxStore` on the test's connection
 *   (for files that test the store, or play the node: they write records).
 *
 * Nodes and proxies are test/helpers/corral.ts's (`useCorral`,
 * `useCorralProcesses`), on the same mechanism.
 *
 *     const fixture = useStore();
 *     it("...", async () => { await fixture.store.createIfAbsent(makeStoredSandbox()); });
 *
 * The fields can be read only inside hooks and tests (after `beforeAll`),
 * except `events`; so destructure them there, not at the top of the file.
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import { resolveConfig, type CorralConfig, type CorralOptions } from "../../src/config.js";
import { subscribeEvents, type SandboxEvent } from "../../src/events.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { startNats, type NatsServer } from "./nats.js";

/** What a file gets from {@link useNats}. */
export interface NatsFixture {
  nats: NatsServer;
  /** A connection of the test's own (not a node's). */
  nc: NatsConnection;
  /** Every sandbox event published since the server started, in arrival order. */
  events: SandboxEvent[];
}

/** What a file gets from {@link useStore}. */
export interface StoreFixture extends NatsFixture {
  /** The settings the store was opened with. */
  config: CorralConfig;
  /** A store on the test's connection. */
  store: SandboxStore;
}

/** Registers a cleanup, run after the file (the last registered first). */
export type Defer = (cleanup: () => unknown) => void;

/**
 * Registers `setup` as `beforeAll` and the cleanups it deferred as `afterAll`
 * (reverse order), and returns a view whose fields throw a clear error when
 * read before `beforeAll` ran; `ready` holds fields that exist from the start.
 */
export function useFixture<T extends object>(name: string, setup: (defer: Defer) => Promise<T>, ready: Partial<T>): T {
  let value: T | null = null;
  const cleanups: (() => unknown)[] = [];
  beforeAll(async () => {
    value = await setup((cleanup) => cleanups.push(cleanup));
  });
  afterAll(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return new Proxy(ready as T, {
    get(target, key) {
      if (key in target) return target[key as keyof T];
      if (!value) throw new Error(`${name}: ${String(key)} read before beforeAll ran (read it inside a hook or test)`);
      return value[key as keyof T];
    },
  });
}

/** Starts nats, connects, and collects every sandbox event into `events`. */
export async function natsSetup(defer: Defer, events: SandboxEvent[]): Promise<NatsFixture> {
  const nats = await startNats();
  defer(() => nats.stop()); // also closes `nc`
  const nc = await nats.connect();
  subscribeEvents(nc, (e) => events.push(e));
  return { nats, nc, events };
}

/** Starts nats for this file (see the module comment). */
export function useNats(): NatsFixture {
  const events: SandboxEvent[] = [];
  return useFixture("useNats", (defer) => natsSetup(defer, events), { events });
}

/** Starts nats and opens a store on it for this file (`settings`: server settings, e.g. `proxyWaitMs`). */
export function useStore(settings: CorralOptions = {}): StoreFixture {
  const events: SandboxEvent[] = [];
  return useFixture(
    "useStore",
    async (defer) => {
      const base = await natsSetup(defer, events);
      const config = resolveConfig(settings, {});
      const store = await SandboxStore.open(base.nc, config);
      defer(() => store.close());
      return { ...base, config, store };
    },
    { events },
  );
}
