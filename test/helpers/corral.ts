/**
 * Nodes (and proxies) for a file, on test/helpers/fixture.ts's mechanism
 * (set up in `beforeAll`, torn down in reverse order in `afterAll`, also
 * when the setup failed halfway):
 *
 * - {@link useCorral}: a real nats-server, a test connection, every sandbox
 *   event collected from it, a real node actor in this process
 *   (test/helpers/node.ts) with a client, and optionally proxy replicas in
 *   this process, each on its own connection and store as separate
 *   processes would be;
 * - {@link useCorralProcesses}: the same with `corral node` child processes
 *   instead (for crash tests, several nodes, or the CLI against a real
 *   server), and a client on the test's connection.
 *
 *     const corral = useCorral({ prefix: "apisem", driver: "process" });
 *     it("...", async () => { await corral.client.create({}); });
 *
 * Teardown: proxies, then nodes (which remove every sandbox they left), then
 * the server. The fields can be read only inside hooks and tests (after
 * `beforeAll`), except `events`.
 */
import type { ProxyHandle, ProxyOptions } from "../../actors/proxy/index.js";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig, type CorralOptions } from "../../src/config.js";
import type { SandboxEvent } from "../../src/events.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { requireDocker } from "./docker.js";
import { natsSetup, useFixture, type Defer, type NatsFixture } from "./fixture.js";
import { spawnNode, startNode, type SpawnedNode, type TestNode, type TestNodeOptions } from "./node.js";

/** What a file gets from {@link useCorral}. */
export interface CorralFixture extends NatsFixture {
  node: TestNode;
  /** The node's client (its own connection, 60 s bound). */
  client: CorralClient;
  /** The proxy replicas (none unless the `proxy` option asked for them), listening on 127.0.0.1 for `DOMAIN` (test/helpers/proxy-client.ts). */
  proxies: ProxyHandle[];
  /** The first replica (fails when the `proxy` option was not given). */
  proxy: ProxyHandle;
}

/** Proxy replicas of {@link useCorral}: what `startProxy` takes beyond what the fixture gives it. */
export interface ProxyFixtureOptions extends Pick<ProxyOptions, "accessLog" | "limits" | "drainMs"> {
  /** @default 1 */
  replicas?: number;
  /** The replicas' server settings. @default the defaults */
  config?: CorralOptions;
}

/** Options of {@link useCorral}: the node's (without the URL: the fixture's server), and the proxy's. */
export interface CorralFixtureOptions extends Omit<TestNodeOptions, "natsUrl"> {
  /** Start proxy replicas too (`true`: one, with the defaults). */
  proxy?: boolean | ProxyFixtureOptions;
}

/** What a file gets from {@link useCorralProcesses}. */
export interface CorralProcessesFixture extends NatsFixture {
  /** The `corral node` processes, in the order of the `nodes` option. */
  nodes: SpawnedNode[];
  /** The first of them. */
  node: SpawnedNode;
  /** A client on the test's connection (60 s bound). */
  client: CorralClient;
}

/** Options of {@link useCorralProcesses}: one entry per `corral node` (started concurrently). */
export interface CorralProcessesOptions {
  nodes: Omit<TestNodeOptions, "natsUrl">[];
}

/** Starts `options.replicas` proxy replicas on `natsUrl`, each with its own connection and store. */
async function startReplicas(base: NatsFixture, options: ProxyFixtureOptions, defer: Defer): Promise<ProxyHandle[]> {
  const { replicas = 1, config: settings = {}, ...rest } = options;
  // Loaded here, so that files without replicas do not load the proxy.
  const [{ startProxy }, { DOMAIN }] = await Promise.all([import("../../actors/proxy/index.js"), import("./proxy-client.js")]);
  const config = resolveConfig(settings, {});
  const proxies: ProxyHandle[] = [];
  for (let i = 0; i < replicas; i++) {
    const nc = await base.nats.connect(); // closed by the server's stop
    const store = await SandboxStore.open(nc, config);
    const proxy = await startProxy({ ...rest, nc, store, config, port: 0, domain: DOMAIN, host: "127.0.0.1", proxyId: `replica-${i}` });
    defer(() => proxy.close());
    proxies.push(proxy);
  }
  return proxies;
}

/** Starts nats + a node in this process (+ proxy replicas) for this file (see the module comment). */
export function useCorral(options: CorralFixtureOptions = {}): CorralFixture {
  const { proxy, ...nodeOptions } = options;
  const events: SandboxEvent[] = [];
  return useFixture(
    "useCorral",
    async (defer) => {
      if ((nodeOptions.driver ?? "docker") === "docker") await requireDocker(); // fails with the install hint, before anything starts
      const base = await natsSetup(defer, events);
      const node = await startNode({ ...nodeOptions, natsUrl: base.nats.url });
      defer(() => node.destroy());
      const proxies = proxy ? await startReplicas(base, proxy === true ? {} : proxy, defer) : [];
      return {
        ...base,
        node,
        client: node.client,
        proxies,
        get proxy(): ProxyHandle {
          if (!proxies[0]) throw new Error("useCorral: no proxy (pass the `proxy` option)");
          return proxies[0];
        },
      };
    },
    { events },
  );
}

/** Starts nats + `corral node` processes for this file (see the module comment). */
export function useCorralProcesses(options: CorralProcessesOptions): CorralProcessesFixture {
  const events: SandboxEvent[] = [];
  return useFixture(
    "useCorralProcesses",
    async (defer) => {
      if (options.nodes.some((o) => (o.driver ?? "docker") === "docker")) await requireDocker();
      const base = await natsSetup(defer, events);
      const started = await Promise.allSettled(options.nodes.map((o) => spawnNode({ ...o, natsUrl: base.nats.url })));
      for (const s of started) if (s.status === "fulfilled") defer(() => s.value.destroy());
      const failed = started.find((s) => s.status === "rejected");
      if (failed) throw failed.reason;
      const nodes = started.map((s) => (s as PromiseFulfilledResult<SpawnedNode>).value);
      return { ...base, nodes, node: nodes[0]!, client: new CorralClient(base.nc, { timeoutMs: 60_000 }) };
    },
    { events },
  );
}
