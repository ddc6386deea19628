/**
 * `docker exec` for envd and `corral exec`: one exec create + start
 * (hijacked, demultiplexed into stdout/stderr), one inspect for the host pid
 * (to signal it) and one for the exit code.
 *
 * Signals go to the exec's host pid (`process.kill`), which works when the
 * node runs on the engine's host with permission to signal its processes
 * (root, as dockerd's children are root's); Docker's API has no
 * "signal an exec" call. Where that fails the signal is dropped and logged.
 */
import Dockerode from "dockerode";
import { PassThrough, type Writable } from "node:stream";
import { logger } from "../log.js";
import { mapDockerError } from "./errors.js";
import { execArgv, type ExecExit, type ExecProcess, type ExecRequest, type SandboxExecutor } from "./exec.js";

const log = logger("docker-exec");
/** Inspects of a just-started exec until dockerd reports its pid. */
const PID_ATTEMPTS = 40;
const PID_RETRY_MS = 25;

/** {@link SandboxExecutor} over a dockerode client. */
export class DockerExecutor implements SandboxExecutor {
  readonly #docker: Dockerode;

  constructor(docker: Dockerode = new Dockerode({ socketPath: process.env.CORRAL_DOCKER_SOCKET ?? "/var/run/docker.sock" })) {
    this.#docker = docker;
  }

  async exec(handle: string, req: ExecRequest): Promise<ExecProcess> {
    const container = this.#docker.getContainer(handle);
    let exec: Dockerode.Exec;
    let stream: NodeJS.ReadWriteStream;
    try {
      exec = await container.exec({
        Cmd: execArgv(req.cmd, req.args),
        AttachStdin: req.stdin === true,
        AttachStdout: true,
        AttachStderr: true,
        Tty: false,
        Env: Object.entries(req.env).map(([k, v]) => `${k}=${v}`),
        ...(req.cwd ? { WorkingDir: req.cwd } : {}),
        ...(req.user ? { User: req.user } : {}),
      });
      stream = (await exec.start({ hijack: true, stdin: req.stdin === true })) as NodeJS.ReadWriteStream;
    } catch (err) {
      throw mapDockerError("exec", err);
    }
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.#docker.modem.demuxStream(stream, stdout, stderr);
    let hostPid = 0;
    let pidKnown: Promise<number> | null = null;
    // dockerd fills the exec's Pid a few ms after start; asked only when a signal is to be sent.
    const learnPid = async (): Promise<number> => {
      for (let attempt = 0; attempt < PID_ATTEMPTS && hostPid === 0; attempt++) {
        const info = await exec.inspect().catch(() => null);
        if (info === null || !info.Running) break;
        hostPid = info.Pid ?? 0;
        if (hostPid === 0) await new Promise((r) => setTimeout(r, PID_RETRY_MS));
      }
      return hostPid;
    };
    const exited = new Promise<ExecExit>((resolve) => {
      let done = false;
      const finish = () => {
        if (done) return;
        done = true;
        stdout.end();
        stderr.end();
        exec
          .inspect()
          .then((info) => resolve({ exitCode: typeof info.ExitCode === "number" ? info.ExitCode : -1 }))
          .catch((err: unknown) => resolve({ exitCode: -1, error: mapDockerError("exec", err).message }));
      };
      stream.on("end", finish);
      stream.on("close", finish);
      stream.on("error", finish);
    });
    return {
      get pid() {
        return hostPid;
      },
      stdout,
      stderr,
      stdin: req.stdin === true ? (stream as unknown as Writable) : null,
      exited,
      kill(signal: NodeJS.Signals) {
        pidKnown ??= learnPid();
        void pidKnown.then((pid) => {
          if (pid <= 1) return;
          try {
            // The whole group when the exec leads one (runc gives each exec its own session), so its children go too.
            try {
              process.kill(-pid, signal);
            } catch {
              process.kill(pid, signal);
            }
          } catch (err) {
            const code = (err as NodeJS.ErrnoException).code;
            if (code !== "ESRCH") log.warn({ err, signal }, "could not signal an exec'd process");
          }
        });
      },
    };
  }
}
