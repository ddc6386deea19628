// Corral pieces for bench/proxy.mjs, from the built dist/ (run `npm run build`
// first): a throwaway nats-server, `corral proxy` replicas in their own
// processes, and sandbox records written the way a node writes them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { spawnReady, spawnTracked, stop } from "./procs.mjs";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CLI = path.join(ROOT, "dist/actors/corral.js");

/** Imports a module of the build, with a hint when there is none. */
export async function dist(rel) {
  const file = path.join(ROOT, "dist", rel);
  if (!fs.existsSync(file)) throw new Error(`${file} is missing: run \`npm run build\` first`);
  return import(file);
}

/** A nats-server with JetStream on a random port and a temp store. */
export async function startNats() {
  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-nats-"));
  const { child, value: port } = await spawnReady("nats-server", "nats-server", ["-js", "-a", "127.0.0.1", "-p", "-1", "-sd", storeDir], {
    ready: (line) => Number(/Listening for client connections on [^\s]*:(\d+)/.exec(line)?.[1]) || undefined,
  });
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      await stop(child);
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
}

/**
 * A `corral proxy` replica in its own process (`--json` prints its port).
 * Its stderr (pino logs, the access log among them) goes to `logFile`, as
 * a deployment would send it to a file or a collector.
 */
export async function startCorralProxy(natsUrl, { logFile, accessLog = true, workers = 1, env = {}, nodeArgs = [] } = {}) {
  const args = [...nodeArgs, CLI, "proxy", "--nats-url", natsUrl, "--port", "0", "--host", "127.0.0.1", "--workers", String(workers), "--json"];
  if (!accessLog) args.push("--no-access-log");
  const out = logFile ? fs.openSync(logFile, "a") : "ignore";
  const child = spawnTracked(process.execPath, args, { stdio: ["ignore", "pipe", out], env: { ...process.env, ...env } });
  if (typeof out === "number") fs.closeSync(out);
  const port = await new Promise((resolve, reject) => {
    let text = "";
    child.stdout.on("data", (c) => {
      text += c;
      const line = text.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once("exit", (code) => reject(new Error(`corral proxy exited (${code}) before it was ready${logFile ? `; see ${logFile}` : ""}`)));
  });
  return { port, pid: child.pid, child, stop: () => stop(child) };
}

/**
 * Opens the store on `natsUrl` and returns `seed(endpoint, overrides)`, which
 * writes a `running`, `secure` sandbox record whose port 8080 is `endpoint`
 * (as a node writes it, event included) and resolves with `{id, token}`.
 */
export async function openSeeder(natsUrl) {
  const { connect } = await import("@nats-io/transport-node");
  const [{ SandboxStore }, { resolveConfig }, { newSandboxId }, { newTrafficToken, hashTrafficToken }, { newStartingRecord }] = await Promise.all([
    dist("src/store/sandbox-store.js"),
    dist("src/config.js"),
    dist("src/ids.js"),
    dist("src/traffic-token.js"),
    dist("actors/node/create.js"),
  ]);
  const nc = await connect({ servers: natsUrl });
  const store = await SandboxStore.open(nc, resolveConfig());
  const spec = {
    template: "base",
    timeoutMs: 3_600_000,
    expiration: "ttl",
    lifecycle: { onTimeout: "kill", autoResume: false, idle: false },
    metadata: { bench: "proxy" },
    resources: { cpu: 1, memoryMB: 128 },
    secure: true,
    key: null,
  };
  return {
    nc,
    store,
    async seed(endpoint, { nodeId = "bench-node", state = "running" } = {}) {
      const id = newSandboxId();
      const token = newTrafficToken();
      const now = Date.now();
      const starting = newStartingRecord({ nodeId }, id, spec, hashTrafficToken(token), now);
      const record = { ...starting, state, startedAt: now, endAt: now + spec.timeoutMs, lastActiveAt: now, internal: { ...starting.internal, endpoint } };
      await store.createIfAbsent(record, "create");
      return { id, token };
    },
    close: () => nc.close(),
  };
}

/**
 * A `corral node` process (it serves the API); resolves once it printed its
 * banner. A graceful stop leaves sandboxes running (they are re-adopted on
 * restart), so `destroy` removes them.
 */
export async function startCorralNode(natsUrl, { driver, logFile }) {
  const nodeId = `bench-${Math.random().toString(36).slice(2, 10)}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-${nodeId}-`));
  const { child } = await spawnReady("corral node", process.execPath, [CLI, "node", "--nats-url", natsUrl, "--node-id", nodeId, "--driver", driver, "--data-dir", dataDir], {
    ready: (line) => line.includes(`corral node ${nodeId}:`),
    env: { ...process.env, CORRAL_LOG_LEVEL: "warn" },
    timeoutMs: 60_000,
  });
  if (logFile) child.stderr.pipe(fs.createWriteStream(logFile));
  return {
    nodeId,
    dataDir,
    /** Stops the node, removes every sandbox it left (with `driver`, a SandboxDriver on `dataDir`), then its data dir. */
    async destroy(driver) {
      await stop(child);
      try {
        for (const instance of await driver.list(nodeId)) await driver.remove(instance.handle).catch(() => {});
      } finally {
        fs.rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}
