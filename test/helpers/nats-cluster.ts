/**
 * A real three-server nats-server cluster with JetStream for integration
 * tests: routes on loopback, random ports, a temp store dir per server, one
 * cluster name. Each server can be SIGKILLed / SIGSTOPped and started again
 * on the same ports and store; `streamLeader` asks `$JS.API.STREAM.INFO`
 * which server leads a stream. By default the servers are started from the
 * deploy recipe, `deploy/nats-cluster.conf` (its variables set, its ports
 * overridden by flags), so the recipe is what the cluster tests run on.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { freePort } from "./ports.js";
import { waitUntil } from "./wait.js";

/** The deploy recipe the cluster is started from by default. */
export const DEPLOY_CLUSTER_CONF = path.resolve(import.meta.dirname, "../../deploy/nats-cluster.conf");

const INSTALL_HINT = "nats-server is not installed: run `node scripts/bootstrap` (or `apt-get install nats-server`)";

/** One member of the cluster. */
export interface ClusterServer {
  /** `server_name` (nats-a, nats-b, ...): what `$JS.API.STREAM.INFO` names as leader. */
  name: string;
  url: string;
  clientPort: number;
  routePort: number;
  storeDir: string;
  running(): boolean;
  /** SIGKILL (no shutdown, nothing flushed); resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGSTOP / SIGCONT: the process hangs with its sockets open. */
  pause(): void;
  resume(): void;
  /** Starts it again on the same ports and store (after `kill`). */
  start(): Promise<void>;
  /** Everything it logged since its last start. */
  log(): string;
}

/** A running cluster; `stop()` kills every server and deletes the stores. */
export interface NatsCluster {
  servers: ClusterServer[];
  /** Every client URL, comma-separated (the form `--nats-url` takes). */
  url: string;
  /** A client connection over the whole list (closed by `stop`). */
  connect(): Promise<NatsConnection>;
  /** The server that leads `stream` now, or null while it has no leader. */
  streamLeader(stream: string): Promise<ClusterServer | null>;
  /** The stream's replica count and how many peers are current (leader included). */
  streamReplicas(stream: string): Promise<{ replicas: number; current: number }>;
  /** Resolves once JetStream answers (a meta leader is elected). */
  untilJetStream(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** @default 3 */
  size?: number;
  /** A config file with the deploy recipe's variables; null starts from flags only. @default DEPLOY_CLUSTER_CONF */
  configFile?: string | null;
  /** @default "corral" (the recipe's) or "corral-test" without a config file */
  clusterName?: string;
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** How often a SIGKILLed server's death is looked up in /proc while its exit event has not come. */
const DEATH_POLL_MS = 25;

/**
 * Resolves once `child` is dead: its exit event, or the kernel's word (no
 * /proc entry, or a zombie: its sockets and files are released either way).
 * The exit event alone is not enough: in about one clean-clone run in five a
 * SIGKILLed server was gone from /proc while its exit event never came within
 * 10 s, and its death is what a fault test waits for, not the event.
 */
function waitDeath(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const state = procState(child.pid);
      if (state.startsWith("Z") || state.startsWith("no such process")) done();
    }, DEATH_POLL_MS);
    const done = () => {
      clearInterval(timer);
      resolve();
    };
    void waitExit(child).then(done);
  });
}

/** The kernel's view of a process (`State:` of /proc/<pid>/status): tells a process stuck in the kernel (D) from one already gone. */
function procState(pid: number | undefined): string {
  try {
    return /^State:\s*(.*)$/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? "state unknown";
  } catch {
    return "no such process: its exit was not reported";
  }
}

interface Member {
  name: string;
  clientPort: number;
  routePort: number;
  httpPort: number;
  storeDir: string;
}

function args(m: Member, peers: Member[], opts: Required<ClusterOptions>): { argv: string[]; env: NodeJS.ProcessEnv } {
  const routes = peers.filter((p) => p !== m).map((p) => `nats://127.0.0.1:${p.routePort}`);
  const common = ["-a", "127.0.0.1", "-p", String(m.clientPort), "-m", String(m.httpPort), "--cluster", `nats://127.0.0.1:${m.routePort}`];
  if (opts.configFile) {
    const env: NodeJS.ProcessEnv = { ...process.env, NATS_NAME: m.name, NATS_STORE_DIR: m.storeDir };
    routes.forEach((r, i) => (env[`NATS_ROUTE_${i + 1}`] = r));
    return { argv: ["-c", opts.configFile, ...common], env };
  }
  return {
    argv: ["-js", "-n", m.name, "-sd", m.storeDir, "--cluster_name", opts.clusterName, "--routes", routes.join(","), ...common],
    env: process.env,
  };
}

function spawnMember(m: Member, peers: Member[], opts: Required<ClusterOptions>, onLog: (s: string) => void): Promise<ChildProcess> {
  const { argv, env } = args(m, peers, opts);
  return new Promise((resolve, reject) => {
    const child = spawn("nats-server", argv, { stdio: ["ignore", "ignore", "pipe"], env });
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nats-server ${m.name} did not become ready in 15 s:\n${log}`));
    }, 15_000);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === "ENOENT" ? new Error(INSTALL_HINT) : err);
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server ${m.name} exited with ${code} before it was ready:\n${log}`));
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      const s = chunk.toString();
      log += s;
      onLog(s);
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        resolve(child);
      }
    });
  });
}

/**
 * Starts the cluster and resolves once JetStream has a meta leader. Ports are
 * picked free and released before the servers bind them, so another test
 * file can take one in between: a start that fails on a taken port is tried
 * again with new ports (at most three times).
 */
export async function startNatsCluster(options: ClusterOptions = {}): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options);
    } catch (err) {
      if (attempt >= 3 || !(err as Error).message.includes("address already in use")) throw err;
    }
  }
}

async function startOnce(options: ClusterOptions): Promise<NatsCluster> {
  const opts: Required<ClusterOptions> = {
    size: options.size ?? 3,
    configFile: options.configFile === undefined ? DEPLOY_CLUSTER_CONF : options.configFile,
    clusterName: options.clusterName ?? (options.configFile === null ? "corral-test" : "corral"),
  };
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "corral-nats-cluster-"));
  const members: Member[] = [];
  for (let i = 0; i < opts.size; i++) {
    const name = `nats-${String.fromCharCode(97 + i)}`;
    members.push({ name, clientPort: await freePort(), routePort: await freePort(), httpPort: await freePort(), storeDir: path.join(root, name) });
  }
  const conns: NatsConnection[] = [];
  const url = members.map((m) => `nats://127.0.0.1:${m.clientPort}`).join(",");

  const servers: ClusterServer[] = [];
  const children = new Map<string, ChildProcess>();
  /** Children known dead whose exit event may not have come (see waitDeath). */
  const dead = new WeakSet<ChildProcess>();
  const logs = new Map<string, string>();
  const startMember = async (m: Member) => {
    logs.set(m.name, "");
    children.set(m.name, await spawnMember(m, members, opts, (s) => logs.set(m.name, logs.get(m.name)! + s)));
  };
  try {
    await Promise.all(members.map(startMember));
  } catch (err) {
    for (const c of children.values()) c.kill("SIGKILL");
    fs.rmSync(root, { recursive: true, force: true });
    throw err;
  }
  for (const m of members) {
    const isRunning = () => {
      const c = children.get(m.name);
      return c !== undefined && c.exitCode === null && c.signalCode === null && !dead.has(c);
    };
    servers.push({
      name: m.name,
      url: `nats://127.0.0.1:${m.clientPort}`,
      clientPort: m.clientPort,
      routePort: m.routePort,
      storeDir: m.storeDir,
      running: isRunning,
      async kill() {
        const c = children.get(m.name);
        if (!c || !isRunning()) return;
        c.kill("SIGKILL");
        const gone = await Promise.race([waitDeath(c).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]);
        if (!gone) throw new Error(`${m.name} (pid ${c.pid}) did not exit within 10 s of SIGKILL (${procState(c.pid)})`);
        dead.add(c);
      },
      pause: () => void children.get(m.name)?.kill("SIGSTOP"),
      resume: () => void children.get(m.name)?.kill("SIGCONT"),
      async start() {
        if (isRunning()) throw new Error(`${m.name} is running`);
        await startMember(m);
      },
      log: () => logs.get(m.name) ?? "",
    });
  }

  const client = async () => {
    const nc = await connect({ servers: url.split(","), maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    conns.push(nc);
    return nc;
  };
  let admin: NatsConnection | undefined;
  const adminConn = async () => (admin ??= await client());
  const jsApi = async (subject: string): Promise<Record<string, unknown>> => {
    const nc = await adminConn();
    const msg = await nc.request(subject, "", { timeout: 2_000 });
    return JSON.parse(new TextDecoder().decode(msg.data)) as Record<string, unknown>;
  };
  const streamInfo = async (stream: string) => {
    const info = await jsApi(`$JS.API.STREAM.INFO.${stream}`);
    if (info.error) throw new Error(`STREAM.INFO ${stream}: ${JSON.stringify(info.error)}`);
    return info as { config: { num_replicas: number }; cluster?: { leader?: string; replicas?: { name: string; current: boolean }[] } };
  };

  const cluster: NatsCluster = {
    servers,
    url,
    connect: client,
    async streamLeader(stream) {
      const info = await streamInfo(stream).catch(() => null);
      const leader = info?.cluster?.leader;
      return servers.find((s) => s.name === leader) ?? null;
    },
    async streamReplicas(stream) {
      const info = await streamInfo(stream);
      const peers = info.cluster?.replicas ?? [];
      return { replicas: info.config.num_replicas, current: (info.cluster?.leader ? 1 : 0) + peers.filter((p) => p.current).length };
    },
    async untilJetStream(timeoutMs = 20_000) {
      await waitUntil(async () => !(await jsApi("$JS.API.INFO")).error, { timeoutMs, intervalMs: 100, what: "JetStream to have a meta leader" });
    },
    async stop() {
      // A stopped (SIGSTOP) server would hold a closing client's flush forever: continue them first.
      for (const s of servers) s.resume();
      // A close waits for its flush; a client still reconnecting must not hold the teardown: bounded, then the servers go.
      await Promise.allSettled(conns.splice(0).map((nc) => Promise.race([nc.close(), new Promise<void>((r) => setTimeout(r, 5_000).unref())])));
      // Teardown does not fail on a late exit event: the SIGKILL has been sent.
      await Promise.allSettled(servers.map((s) => s.kill()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await cluster.untilJetStream();
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
