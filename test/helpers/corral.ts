/**
 * The per-file preamble most integration tests share, as one fixture: a real
 * nats-server (test/helpers/nats.ts), a test connection, every sandbox event
 * collected from it, and a real node actor in this process
 * (test/helpers/node.ts) with a client. Registered with the file's
 * `beforeAll` / `afterAll`; torn down in reverse order (the node first, which
 * removes every sandbox it left, then the server).
 *
 *     const corral = useCorral({ prefix: "apisem", driver: "process" });
 *     it("...", async () => { await corral.client.create({}); });
 *
 * The fields can be read only inside hooks and tests (after `beforeAll`).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll } from "vitest";
import type { CorralClient } from "../../src/client/client.js";
import { subscribeEvents, type SandboxEvent } from "../../src/events.js";
import { startNats, type NatsServer } from "./nats.js";
import { startNode, type TestNode, type TestNodeOptions } from "./node.js";

/** What a file gets from {@link useCorral}. */
export interface CorralFixture {
  nats: NatsServer;
  /** A connection of the test's own (not the node's). */
  nc: NatsConnection;
  node: TestNode;
  /** The node's client (its own connection, 60 s bound). */
  client: CorralClient;
  /** Every sandbox event published since the node started, in arrival order. */
  events: SandboxEvent[];
}

/** Options of {@link useCorral}: the node's, without the URL (the fixture's server). */
export type CorralFixtureOptions = Omit<TestNodeOptions, "natsUrl">;

/** Starts nats + a node for this file (see the module comment). */
export function useCorral(options: CorralFixtureOptions = {}): CorralFixture {
  let started: Omit<CorralFixture, "events"> | null = null;
  let nats: NatsServer | null = null;
  let node: TestNode | null = null;
  const events: SandboxEvent[] = [];

  beforeAll(async () => {
    nats = await startNats();
    const nc = await nats.connect();
    subscribeEvents(nc, (e) => events.push(e));
    node = await startNode({ ...options, natsUrl: nats.url });
    started = { nats, nc, node, client: node.client };
  });

  afterAll(async () => {
    await node?.destroy();
    await nats?.stop(); // also closes `nc`
  });

  type Started = Omit<CorralFixture, "events">;
  const get = <K extends keyof Started>(key: K): Started[K] => {
    if (!started) throw new Error(`useCorral: ${key} read before beforeAll ran (read it inside a hook or test)`);
    return started[key];
  };
  return {
    get nats() {
      return get("nats");
    },
    get nc() {
      return get("nc");
    },
    get node() {
      return get("node");
    },
    get client() {
      return get("client");
    },
    events,
  };
}
