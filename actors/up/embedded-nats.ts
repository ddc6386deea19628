/**
 * The embedded nats-server of `corral up`: JetStream with its store under the
 * data dir, loopback unless told otherwise, authentication on unless told
 * otherwise (./security.ts).
 *
 * It runs in its own process group, unlike the other children: a Ctrl-C
 * reaches the whole foreground group at once, and a nats-server that quit
 * with everyone else would cut the node off in the middle of its graceful
 * stop (releasing its lease, flushing activity). corral up stops it itself,
 * last. Should corral up die without stopping it (SIGKILL), the server's pid
 * file lets the next `corral up` on the same data dir stop the leftover
 * before starting a new one.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { UnavailableError } from "../../src/errors.js";
import { portAnswers } from "./ports.js";

export interface EmbeddedNats {
  url: string;
  child: ChildProcess;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a nats-server that a previous corral up left running on this store
 * (only if the pid file's process really is a nats-server of `storeDir`).
 * Returns its pid, or null when there was none.
 */
async function stopLeftover(pidFile: string, storeDir: string): Promise<number | null> {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(pidFile, "utf8").trim());
  } catch {
    return null;
  }
  let cmdline = "";
  try {
    cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8");
  } catch {
    return null; // not running (or not Linux): nothing to stop
  }
  if (!Number.isInteger(pid) || !cmdline.includes("nats-server") || !cmdline.includes(storeDir)) return null;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(pid)) process.kill(pid, "SIGKILL");
  return pid;
}

/** How the embedded server runs beyond its port. */
export interface EmbeddedNatsOptions {
  /** Address to listen on. @default "127.0.0.1" */
  host?: string;
  /** A configuration file (authentication: ./security.ts); none runs NATS open. */
  configFile?: string;
}

/** Starts nats-server on `port` and resolves once it accepts clients. */
export async function startEmbeddedNats(dataDir: string, port: number, logFile: string, say: (line: string) => void, options: EmbeddedNatsOptions = {}): Promise<EmbeddedNats> {
  const storeDir = path.join(dataDir, "nats");
  const pidFile = path.join(dataDir, "nats-server.pid");
  fs.mkdirSync(storeDir, { recursive: true });
  const leftover = await stopLeftover(pidFile, storeDir);
  if (leftover !== null) say(`nats     stopped nats-server ${leftover} left running by an earlier corral up on this data dir`);
  if (await portAnswers(port)) {
    throw new UnavailableError(`port ${port} is already in use: stop what listens there, pass --nats-port, or join it with --nats-url nats://127.0.0.1:${port}`);
  }
  const out = fs.openSync(logFile, "a");
  const host = options.host ?? "127.0.0.1";
  const config = options.configFile ? ["-c", options.configFile] : [];
  const child = spawn("nats-server", [...config, "-js", "-a", host, "-p", String(port), "-sd", storeDir, "-n", "corral-up", "-P", pidFile], {
    stdio: ["ignore", out, out],
    detached: true, // its own process group: see the module comment
  });
  fs.closeSync(out);
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(new UnavailableError(err.code === "ENOENT" ? "nats-server is not installed: run `node scripts/bootstrap`" : err.message)),
    );
    child.once("exit", (code) => reject(new UnavailableError(`nats-server exited with ${code}; see ${logFile}`)));
  });
  exited.catch(() => {}); // later exits are handled by the supervisor
  const deadline = Date.now() + 15_000;
  while (!(await Promise.race([portAnswers(port), exited]))) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new UnavailableError(`nats-server did not accept connections within 15 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const dial = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host;
  return { url: `nats://${dial.includes(":") ? `[${dial}]` : dial}:${port}`, child };
}
