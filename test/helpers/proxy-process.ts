/**
 * `corral proxy` as a child process, the way an operator runs it: spawned
 * from dist/ with real logging (its access log on stderr), and its memory
 * read from /proc (RSS).
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { CORRAL_BIN } from "./node.js";
import { waitUntil } from "./wait.js";

/** A `corral proxy` child process. */
export interface CorralProxyProcess {
  child: ChildProcess;
  port: number;
  stdout: () => string;
  stderr: () => string;
  /** SIGTERM; resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/** Spawns `corral proxy --json` on `natsUrl` and resolves once it printed its address (it is synced then). */
export async function spawnCorralProxy(natsUrl: string, extra: string[] = []): Promise<CorralProxyProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOG_LEVEL: "info" };
  delete env.VITEST; // a real server: its logger must not be silenced as a test's is
  const child = spawn(process.execPath, [CORRAL_BIN, "proxy", "--nats-url", natsUrl, "--port", "0", "--host", "127.0.0.1", "--json", ...extra], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const line = await Promise.race([
    waitUntil(() => out.split("\n").find((l) => l.startsWith("{")), { timeoutMs: 30_000, what: "corral proxy to print its address" }),
    exited.then((code) => Promise.reject(new Error(`corral proxy exited (${code}):\n${err}`))),
  ]);
  const { port } = JSON.parse(line) as { port: number };
  return {
    child,
    port,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

/** Resident set size of a process, in bytes. */
export function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** Samples the RSS of `pid` every 20 ms while `work` runs; resolves with its result and the peak. */
export async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ result: T; peak: number }> {
  let peak = rssOf(pid);
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
  try {
    const result = await work();
    peak = Math.max(peak, rssOf(pid));
    return { result, peak };
  } finally {
    clearInterval(timer);
  }
}

