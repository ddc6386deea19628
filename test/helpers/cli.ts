/**
 * Runs the built `corral` executable (dist/, brought up to date by the
 * integration project's global setup) the way a user or a script does.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { CORRAL_BIN } from "./node.js";
import { waitUntil } from "./wait.js";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `corral ...args` to completion. */
export function corral(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CORRAL_BIN, ...args], { env: { ...process.env, ...env }, timeout: 90_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs `corral ...args --json` and parses its one line of output; throws with the output if it failed. */
export async function corralJson<T = Record<string, unknown>>(args: string[], env: NodeJS.ProcessEnv = {}): Promise<T> {
  const res = await corral([...args, "--json"], env);
  if (res.code !== 0) throw new Error(`corral ${args.join(" ")} exited ${res.code}:\n${res.stdout}\n${res.stderr}`);
  return JSON.parse(res.stdout) as T;
}

/** A long-running `corral` child (watch, up) with its output collected. */
export interface CorralProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Waits until stdout contains `text` (or matches it). */
  waitFor(text: string | RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts `corral ...args`. `detached` makes it a process-group leader, as a shell job is (for Ctrl-C-like group signals). */
export function startCorral(args: string[], options: { env?: NodeJS.ProcessEnv; detached?: boolean } = {}): CorralProcess {
  const child = spawn(process.execPath, [CORRAL_BIN, ...args], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (err += c.toString()));
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor: async (text, timeoutMs = 60_000) => {
      const matches = () => (typeof text === "string" ? out.includes(text) : text.test(out));
      let done = false;
      const died = exited.then((code) => {
        if (!done && !matches()) throw new Error(`corral ${args[0]} exited (${code}) before printing ${String(text)}:\n${out}\n${err}`);
      });
      try {
        await Promise.race([waitUntil(matches, { timeoutMs, what: `corral ${args[0]} to print ${String(text)}` }), died]);
      } catch (e) {
        throw new Error(`${(e as Error).message}\nstdout:\n${out}\nstderr:\n${err}`);
      } finally {
        done = true;
      }
    },
  };
}
