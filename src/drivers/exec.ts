/**
 * Running a command inside a sandbox (`corral exec`, envd's
 * `process.Process/Start` and its files): the same for every driver, so envd
 * needs nothing inside the image. Docker: `docker exec` (dockerode); process
 * driver: a child spawned in the sandbox's environment (the main process's
 * env and cwd, read from /proc).
 */
import type { Readable, Writable } from "node:stream";

/** What to run. */
export interface ExecRequest {
  /** Program (absolute path or looked up on the sandbox's PATH). */
  cmd: string;
  args: string[];
  /** Added to the sandbox's own environment. */
  env: Record<string, string>;
  /** Working directory. @default the sandbox's (the image's `WorkingDir`, the process sandbox's dir) */
  cwd?: string;
  /** User to run as, where the engine allows (docker: any user of the image; process driver: ignored). */
  user?: string;
  /** Keep stdin open for `stdin` writes; otherwise stdin is empty. */
  stdin?: boolean;
}

/** A started command. */
export interface ExecProcess {
  /** A pid to name it by (the host pid where known, else a positive counter). */
  readonly pid: number;
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Present when the request asked for stdin. */
  readonly stdin: Writable | null;
  /** Resolves once the command has exited and its output streams have ended. Never rejects. */
  readonly exited: Promise<ExecExit>;
  /** Sends a signal; best effort (a process already gone is not an error). */
  kill(signal: NodeJS.Signals): void;
}

/** How a command ended. */
export interface ExecExit {
  /** Exit status; 128+N when killed by signal N; -1 when it could not be learned. */
  exitCode: number;
  /** Why it could not run or be waited for, if so. */
  error?: string;
}

/** Runs commands in one engine's sandboxes. */
export interface SandboxExecutor {
  /**
   * Starts `req` in the sandbox with driver handle `handle`.
   * @throws DriverError when the sandbox's container/process is gone, or the engine refuses
   */
  exec(handle: string, req: ExecRequest): Promise<ExecProcess>;
}

/**
 * The shell script that stands in for `/bin/bash ARGS`: bash when the
 * sandbox has it, else `sh` with the same arguments (the `base` template has
 * only busybox `sh`, which takes `-l -c CMD` too). E2B's SDKs always ask for
 * `/bin/bash -l -c CMD`.
 */
export const BASH_OR_SH = 'if [ -x /bin/bash ]; then exec /bin/bash "$@"; fi; exec /bin/sh "$@"';

/** The argv to run for `cmd args`: `bash` is mapped through {@link BASH_OR_SH}; anything else as is. */
export function execArgv(cmd: string, args: string[]): string[] {
  if (cmd === "/bin/bash" || cmd === "bash" || cmd === "/usr/bin/bash") return ["/bin/sh", "-c", BASH_OR_SH, "sh", ...args];
  return [cmd, ...args];
}

/** Exit code of a process that ended by signal `name` (shell convention, 128+N). */
export function signalExitCode(name: NodeJS.Signals | null, signals: Record<string, number>): number {
  if (name === null) return -1;
  const n = signals[name];
  return n === undefined ? -1 : 128 + n;
}
