/**
 * Child processes of the suites (helper processes, nginx, proxy replicas):
 * spawned, awaited until they say they are ready, and always stopped.
 */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { SuiteContext } from "./types.js";

/** How {@link spawnReady} runs a child. */
export interface SpawnReadyOptions<T> {
  /**
   * Called with each stdout/stderr line until it returns a value other than
   * undefined, which `spawnReady` resolves with. Without it the child counts
   * as ready once spawned.
   */
  ready?(line: string): T | undefined;
  env?: NodeJS.ProcessEnv;
  /** Where stderr goes (a file descriptor: a log file). @default "pipe" (read by `ready`) */
  stderr?: "pipe" | "inherit" | number;
  /** @default 15_000 */
  timeoutMs?: number;
}

/** Spawns `cmd` and resolves once a line of its output says it is ready; rejects, with its output, if it exits or times out first. */
export function spawnReady<T = undefined>(name: string, cmd: string, args: string[], opts: SpawnReadyOptions<T>): Promise<{ child: ChildProcess; value: T }> {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", opts.stderr ?? "pipe"], env: opts.env ?? process.env });
  const timeoutMs = opts.timeoutMs ?? 15_000;
  let log = "";
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (err: Error | null, value?: T) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!err) return resolve({ child, value: value as T });
      child.kill("SIGKILL");
      reject(err);
    };
    const timer = setTimeout(() => finish(new Error(`${name} not ready in ${timeoutMs} ms:\n${log.slice(-2000)}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      if (log.length < 100_000) log += text;
      const { ready } = opts;
      if (done || !ready) return;
      for (const line of text.split("\n")) {
        const value = ready(line);
        if (value !== undefined) return finish(null, value);
      }
    };
    child.stdout!.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", finish);
    child.once("exit", (code, signal) => finish(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${log.slice(-2000)}`)));
    if (!opts.ready) child.once("spawn", () => finish(null));
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/**
 * `node [nodeArgs] bench/lib/child.mjs <module> <export> [args]`: runs an
 * exported `(argv) => Promise<void>` of a bench TypeScript module in its own
 * process (bundled against dist/ like the runner).
 */
export function childArgs(benchDir: string, module: string, fn: string, args: string[], nodeArgs: string[] = []): string[] {
  return [...nodeArgs, path.join(benchDir, "lib", "child.mjs"), module, fn, ...args];
}

/** A TCP port that was free a moment ago (the OS picks it). */
export { freePort } from "../../test/helpers/ports.js";

/**
 * Runs `fn` with cleanups of its own, run last-in first-out as soon as it
 * ends (processes it started must not load the machine during the suite's
 * next measurement); if the run is interrupted first, the suite's cleanup
 * runs what is left.
 */
export async function scoped<C extends Pick<SuiteContext, "cleanup" | "progress">, T>(ctx: C, fn: (ctx: C) => Promise<T>): Promise<T> {
  const own: (() => Promise<void> | void)[] = [];
  const runOwn = async () => {
    for (let next = own.pop(); next; next = own.pop()) {
      try {
        await next();
      } catch (err) {
        ctx.progress(`cleanup failed: ${(err as Error).message}`);
      }
    }
  };
  ctx.cleanup(runOwn);
  try {
    return await fn({ ...ctx, cleanup: (cleanup: () => Promise<void> | void) => void own.push(cleanup) });
  } finally {
    await runOwn();
  }
}
