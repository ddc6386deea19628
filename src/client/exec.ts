/**
 * `CorralClient.exec`: runs a command in a sandbox through its node's envd
 * endpoint (the same one E2B's SDKs reach through the proxy), streaming
 * stdout and stderr as they come. The client finds the node's envd address
 * in `corral_nodes` and derives the sandbox's envd token from the cluster's
 * envd secret in `corral_api_keys`, so it needs read access to those two KV
 * buckets (an admin credential); a tenant credential has none and gets
 * `forbidden`-like store errors.
 */
import http from "node:http";
import { END_STREAM_FLAG, envelope } from "../connect-frames.js";
import { ConflictError, InternalError, UnavailableError } from "../errors.js";
import { deriveEnvdToken } from "../envd-token.js";
import type { SandboxRecord } from "../schema/record.js";

/** Options of `exec`. */
export interface ExecOptions {
  /** Added to the sandbox's environment. */
  env?: Record<string, string>;
  /** Working directory. @default the sandbox's */
  cwd?: string;
  /** User to run as (docker driver). @default the image's */
  user?: string;
  /** Called with each stdout chunk as it arrives. */
  onStdout?: (chunk: Buffer) => void;
  /** Called with each stderr chunk as it arrives. */
  onStderr?: (chunk: Buffer) => void;
  /** Aborting it kills the command. */
  signal?: AbortSignal;
}

/** How an exec ended. */
export interface ExecResult {
  exitCode: number;
}

/** What `exec` needs besides the record. */
export interface ExecTarget {
  record: SandboxRecord;
  /** The owning node's envd `host:port`. */
  envd: string;
  secret: Uint8Array;
}

type Event = { start?: unknown; data?: { stdout?: string; stderr?: string }; end?: { exitCode?: number; error?: string } };

/** Runs `cmd args` via the Connect `process.Process/Start` stream; resolves with the exit code. */
export function runExec(target: ExecTarget, cmd: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  const { record } = target;
  if (record.state !== "running") return Promise.reject(new ConflictError(`sandbox ${record.sandboxId} is ${record.state}, not running`));
  const token = deriveEnvdToken(target.secret, record.sandboxId, record.createdAt);
  const body = envelope({
    process: { cmd, args, envs: options.env ?? {}, ...(options.cwd ? { cwd: options.cwd } : {}) },
  });
  const headers: Record<string, string> = { "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1", "X-Access-Token": token };
  if (options.user) headers.Authorization = `Basic ${Buffer.from(`${options.user}:`).toString("base64")}`;
  return new Promise<ExecResult>((resolve, reject) => {
    const req = http.request(`http://${target.envd}/envd/${record.sandboxId}/process.Process/Start`, { method: "POST", headers, ...(options.signal ? { signal: options.signal } : {}) }, (res) => {
      if (res.statusCode !== 200) {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () => reject(new UnavailableError(`exec: envd answered ${res.statusCode}: ${text.slice(0, 300)}`)));
        return;
      }
      let pending: Buffer = Buffer.alloc(0);
      let exitCode: number | null = null;
      res.on("data", (chunk: Buffer) => {
        pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
        while (pending.length >= 5) {
          const length = pending.readUInt32BE(1);
          if (pending.length < 5 + length) break;
          const flags = pending[0]!;
          const message = JSON.parse(pending.subarray(5, 5 + length).toString("utf8")) as { event?: Event; error?: { code: string; message: string } };
          pending = pending.subarray(5 + length);
          if (flags & END_STREAM_FLAG) {
            if (message.error) reject(new UnavailableError(`exec: ${message.error.code}: ${message.error.message}`));
            continue;
          }
          const event = message.event;
          if (event?.data?.stdout) options.onStdout?.(Buffer.from(event.data.stdout, "base64"));
          if (event?.data?.stderr) options.onStderr?.(Buffer.from(event.data.stderr, "base64"));
          if (event?.end) exitCode = event.end.exitCode ?? 0;
        }
      });
      res.on("end", () => (exitCode === null ? reject(new InternalError("exec: the stream ended without an exit code")) : resolve({ exitCode })));
      res.on("error", reject);
    });
    req.on("error", (err) => reject(new UnavailableError(`exec: cannot reach the node's envd: ${err.message}`, { cause: err })));
    req.end(body);
  });
}
