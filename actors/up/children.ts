/**
 * Supervision of `corral up`'s children. Every `corral` child stays in corral
 * up's process group (never `detached`), so a Ctrl-C or a signal to the group
 * reaches all of them at once; corral up then waits for each to exit. (The
 * embedded nats-server is the one exception, stopped last: see
 * ./embedded-nats.ts.)
 * Their output goes to `<data-dir>/logs/<name>.log` so the terminal shows
 * only corral up's own summary.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { unknownCommandMessage } from "../../src/cli/run.js";

export interface Child {
  name: string;
  process: ChildProcess;
  logFile: string;
  /** Resolves with the exit code (or signal name) when the child ends. */
  exited: Promise<number | string>;
}

/** Spawns `corral <args>` (this same executable) as a supervised child. */
export function spawnCorral(name: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Child {
  const out = fs.openSync(logFile, "a");
  const child = spawn(process.execPath, [process.argv[1]!, ...args], { stdio: ["ignore", out, out], env });
  fs.closeSync(out);
  return track(name, child, logFile);
}

/** Wraps an already spawned process. */
export function track(name: string, child: ChildProcess, logFile: string): Child {
  const exited = new Promise<number | string>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode ?? child.signalCode!);
    child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown"));
    child.once("error", () => resolve("spawn-error"));
  });
  return { name, process: child, logFile, exited };
}

/** The last `lines` lines of a child's log, for error messages. */
export function logTail(child: Child, lines = 15): string {
  try {
    return fs.readFileSync(child.logFile, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill("SIGTERM");
  const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
  await child.exited;
  clearTimeout(timer);
}

/**
 * True when the child ended because this `corral` has no such command (a
 * server command that lives on a branch not merged into this build).
 */
export function isUnknownCommand(child: Child, command: string): boolean {
  return child.process.exitCode === 1 && logTail(child, 5).includes(unknownCommandMessage(command));
}

/** Polls `probe` until true; rejects if the child exits first or `timeoutMs` passes. */
export async function waitReady(child: Child, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let done = false;
  const died = child.exited.then((code) => {
    if (!done) throw new Error(`${child.name} exited (${code}) before it was ready:\n${logTail(child)}`);
  });
  const ready = (async () => {
    const deadline = Date.now() + timeoutMs;
    while (!done) {
      if (await probe().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${child.name} was not ready within ${timeoutMs} ms:\n${logTail(child)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await Promise.race([ready, died]);
  } finally {
    done = true;
  }
}
