/**
 * A real nats-server with JetStream per test file: random port, temp store,
 * stopped and deleted by `stop()`. Set `NATS_URL` to reuse a running server
 * instead (its streams/buckets are shared then: tests must use their own ids).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsServer {
  url: string;
  port: number;
  storeDir: string;
  /** A client connection for the test (closed by `stop`). */
  connect(): Promise<NatsConnection>;
  /** Stops the server (SIGTERM) keeping the store; `start` again on the same port. */
  kill(): Promise<void>;
  /** Starts it again on the same port and store (after `kill`). */
  start(): Promise<void>;
  /** Stops it and deletes the store. */
  stop(): Promise<void>;
}

const INSTALL_HINT = "nats-server is not installed: run `node scripts/bootstrap` (or `apt-get install nats-server`)";

function spawnServer(port: number, storeDir: string, jetstream = true): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const js = jetstream ? ["-js", "-sd", storeDir] : [];
    const child = spawn("nats-server", [...js, "-a", "127.0.0.1", "-p", String(port), "-m", "0"], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let log = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`nats-server did not become ready in 10 s:\n${log}`));
    }, 10_000);
    child.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(err.code === "ENOENT" ? new Error(INSTALL_HINT) : err);
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`nats-server exited with ${code} before it was ready:\n${log}`));
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      log += chunk.toString();
      const m = /Listening for client connections on [^\s]*:(\d+)/.exec(log);
      if (m && log.includes("Server is ready")) {
        clearTimeout(timer);
        child.removeAllListeners("exit");
        child.stderr!.removeAllListeners("data");
        child.stderr!.resume();
        resolve({ child, port: Number(m[1]) });
      }
    });
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/** Options of {@link startNats}. */
export interface StartNatsOptions {
  /** Without JetStream (a server that answers no `$JS.API` request). @default true */
  jetstream?: boolean;
}

/** Spawns a fresh server (or wraps `NATS_URL`, unless JetStream is off). */
export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServer> {
  const jetstream = opts.jetstream ?? true;
  const conns: NatsConnection[] = [];
  const connectTo = (url: string) => async () => {
    const nc = await connect({ servers: url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    conns.push(nc);
    return nc;
  };
  const closeConns = async () => {
    await Promise.allSettled(conns.splice(0).map((nc) => nc.close()));
  };

  if (process.env.NATS_URL && jetstream) {
    const url = process.env.NATS_URL;
    const noRestart = () => Promise.reject(new Error("cannot restart an external NATS_URL server"));
    return { url, port: Number(new URL(url).port), storeDir: "", connect: connectTo(url), kill: noRestart, start: noRestart, stop: closeConns };
  }

  const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-nats-"));
  const first = await spawnServer(-1, storeDir, jetstream);
  const port = first.port;
  let child = first.child;
  const url = `nats://127.0.0.1:${port}`;
  return {
    url,
    port,
    storeDir,
    connect: connectTo(url),
    async kill() {
      child.kill("SIGTERM");
      await waitExit(child);
    },
    async start() {
      ({ child } = await spawnServer(port, storeDir, jetstream));
    },
    async stop() {
      await closeConns();
      child.kill("SIGTERM");
      await waitExit(child);
      fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
