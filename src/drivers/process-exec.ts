/**
 * Exec for the process driver: a child spawned in the sandbox's environment,
 * i.e. with the main process's environment (`/proc/<pid>/environ`, so
 * `CORRAL_SANDBOX_ID` and the create's `env` are there) and working directory
 * (`/proc/<pid>/cwd`), plus the request's env. Like the sandbox itself it
 * runs as the node's user (the process driver has no isolation; see
 * docs/drivers.md). `/bin/bash` falls back to `/bin/sh` as in Docker.
 */
import { spawn } from "node:child_process";
import { readFile, readlink } from "node:fs/promises";
import { constants } from "node:os";
import { DriverError } from "./errors.js";
import { execArgv, signalExitCode, type ExecExit, type ExecProcess, type ExecRequest, type SandboxExecutor } from "./exec.js";
import { parseProcessHandle } from "./proc.js";

/** The NUL-separated `KEY=VALUE` list of /proc/<pid>/environ as an object. */
export function parseEnviron(raw: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of raw.split("\0")) {
    const i = entry.indexOf("=");
    if (i > 0) env[entry.slice(0, i)] = entry.slice(i + 1);
  }
  return env;
}

/** {@link SandboxExecutor} for `pid:<pid>:<starttime>` handles. */
export class ProcessExecutor implements SandboxExecutor {
  async exec(handle: string, req: ExecRequest): Promise<ExecProcess> {
    const parsed = parseProcessHandle(handle);
    if (!parsed) throw new DriverError("exec", "vanished", `not a process handle: ${handle}`);
    let baseEnv: Record<string, string>;
    let baseCwd: string;
    try {
      [baseEnv, baseCwd] = await Promise.all([readFile(`/proc/${parsed.pid}/environ`, "utf8").then(parseEnviron), readlink(`/proc/${parsed.pid}/cwd`)]);
    } catch (err) {
      throw new DriverError("exec", "vanished", `sandbox process ${parsed.pid} is gone`, { cause: err });
    }
    const [cmd, ...args] = execArgv(req.cmd, req.args);
    const child = spawn(cmd!, args, {
      cwd: req.cwd ?? baseCwd,
      env: { ...baseEnv, ...req.env },
      stdio: [req.stdin === true ? "pipe" : "ignore", "pipe", "pipe"],
      // Its own group, so a signal reaches what the command started too.
      detached: true,
    });
    const spawned = await new Promise<Error | null>((resolve) => {
      child.once("spawn", () => resolve(null));
      child.once("error", (err) => resolve(err));
    });
    if (spawned) throw new DriverError("exec", "engine", `could not run ${req.cmd}: ${spawned.message}`, { cause: spawned });
    const exited = new Promise<ExecExit>((resolve) => {
      child.once("close", (code, signal) => resolve({ exitCode: code ?? signalExitCode(signal, constants.signals as unknown as Record<string, number>) }));
    });
    return {
      pid: child.pid!,
      stdout: child.stdout!,
      stderr: child.stderr!,
      stdin: child.stdin ?? null,
      exited,
      kill(signal: NodeJS.Signals) {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          // Already gone.
        }
      },
    };
  }
}
