/**
 * A real nats-server whose JetStream a test can take away and give back while
 * core NATS keeps routing requests and replies: the store is unavailable for
 * real (every KV call gets the server's own "no responders" / "JetStream not
 * enabled") while the API still reaches the node and its reply reaches the
 * caller, which is what an operation must answer with during an outage.
 * Switched off by rewriting the server's config file and SIGHUP (config
 * reload); switched on again by restarting the server on the same port and
 * store (nats-server 2.9 does not restore the streams on a reload that
 * enables JetStream again; a start does). The server can also be SIGKILLed
 * and started again on the same port and store.
 */
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** A nats-server with faults on demand. */
export interface FaultyNats {
  url: string;
  storeDir: string;
  /** Reloads the config without JetStream (resolves once the server says it reloaded). */
  disableJetStream(): Promise<void>;
  /** Restarts the server with JetStream on the same port and store dir; resolves once every stream it had is served again. */
  enableJetStream(): Promise<void>;
  /** SIGKILL (nothing flushed). */
  kill(): Promise<void>;
  /** Starts it again on the same port, config and store (after `kill`); resolves once every stream it had is served again. */
  start(): Promise<void>;
  /** Stops it and deletes its files. */
  stop(): Promise<void>;
}

function config(port: number, storeDir: string, jetstream: boolean): string {
  return [`listen: "127.0.0.1:${port}"`, "max_payload: 8MB", jetstream ? `jetstream { store_dir: ${JSON.stringify(storeDir)} }` : ""].join("\n");
}

/** Waits until the server's log contains `text` past `from` characters; rejects if it exits first. */
function logged(child: ChildProcess, log: () => string, from: number, text: string, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`nats-server: no "${text}" within 10 s (${what}):\n${log().slice(from)}`)), 10_000);
    const check = () => {
      if (log().indexOf(text, from) >= 0) done();
    };
    const exited = () => done(new Error(`nats-server exited (${what}):\n${log().slice(from)}`));
    function done(err?: Error) {
      clearTimeout(timer);
      child.stderr!.off("data", check);
      child.off("exit", exited);
      if (err) reject(err);
      else resolve();
    }
    child.stderr!.on("data", check);
    child.once("exit", exited);
    check();
  });
}

/** The names of the streams the server at `url` serves (throws while JetStream does not answer). */
async function streamNames(url: string): Promise<string[]> {
  const nc = await connect({ servers: url });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 1_000 });
    const names: string[] = [];
    for await (const name of jsm.streams.names()) names.push(name);
    return names.sort();
  } finally {
    await nc.close();
  }
}

/** Waits until the server serves every stream of `names` again (JetStream restores them from the store after a start or reload). */
async function streamsBack(url: string, names: string[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const now = await streamNames(url).catch((): string[] => []);
    if (names.every((n) => now.includes(n))) return;
    if (Date.now() > deadline) throw new Error(`nats-server: streams ${names.join(", ")} not back within 15 s (serving ${now.join(", ")})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a nats-server with JetStream on a free port and a temp store. */
export async function startFaultyNats(): Promise<FaultyNats> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-nats-faults-"));
  const storeDir = path.join(dir, "store");
  const configFile = path.join(dir, "nats.conf");
  const port = await new Promise<number>((resolve, reject) => {
    // A free port: the server must come back on the same one after a kill.
    const probe = net.createServer().listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
  let child!: ChildProcess;
  let log = "";
  const launch = async () => {
    fs.writeFileSync(configFile, config(port, storeDir, true));
    log = "";
    child = spawn("nats-server", ["-c", configFile], { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr!.on("data", (chunk: Buffer) => (log += chunk.toString()));
    await logged(child, () => log, 0, "Server is ready", "start");
  };
  const disable = async () => {
    const from = log.length;
    fs.writeFileSync(configFile, config(port, storeDir, false));
    child.kill("SIGHUP");
    await logged(child, () => log, from, "Reloaded server configuration", "disable JetStream");
  };
  const url = `nats://127.0.0.1:${port}`;
  /** Streams served before the last fault, to wait for after it. */
  let before: string[] = [];
  const exit = () => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise<void>((r) => child.once("exit", () => r())));
  await launch();
  return {
    url,
    storeDir,
    async disableJetStream() {
      before = await streamNames(url);
      await disable();
    },
    async enableJetStream() {
      child.kill("SIGTERM");
      await exit();
      await launch();
      await streamsBack(url, before);
    },
    async kill() {
      before = await streamNames(url);
      child.kill("SIGKILL");
      await exit();
    },
    async start() {
      await launch();
      await streamsBack(url, before);
    },
    async stop() {
      child.kill("SIGTERM");
      await exit();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
