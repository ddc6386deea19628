/**
 * envd's `GET /files?path=` and `POST /files?path=` (multipart, field
 * `file`), done with a shell in the sandbox so any image works: a read is
 * `cat < PATH` streamed out, a write streams the part into `cat > PATH`.
 * Both are bounded by `maxFileBytes` (a larger upload is cut and answered
 * 413; a larger download is cut, so the client sees a truncated body error).
 */
import Busboy from "busboy";
import type { IncomingMessage, ServerResponse } from "node:http";
import path from "node:path";
import type { ExecRequest, ExecProcess } from "../../../src/drivers/exec.js";

/** Exit codes of the read script for "no such file" and "is a directory". */
const MISSING = 44;
const DIRECTORY = 45;
const READ_SCRIPT = `[ -e "$1" ] || exit ${MISSING}; [ -d "$1" ] && exit ${DIRECTORY}; exec cat < "$1"`;
const WRITE_SCRIPT = 'd=$(dirname "$1") && mkdir -p "$d" && cat > "$1"';

/** Starts a command in the request's sandbox. */
export type Exec = (req: ExecRequest) => Promise<ExecProcess>;

/** Answers an error as envd does: JSON `{code, message}` with that status. */
export function sendError(res: ServerResponse, status: number, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ code: status, message });
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

async function collect(stream: NodeJS.ReadableStream, limit: number): Promise<string> {
  let out = "";
  for await (const chunk of stream) if (out.length < limit) out += chunk.toString();
  return out.slice(0, limit);
}

/** `GET /files`: the file's bytes (application/octet-stream). */
export async function readFile(res: ServerResponse, exec: Exec, filePath: string, user: string | undefined, maxFileBytes: number): Promise<void> {
  const proc = await exec({ cmd: "/bin/sh", args: ["-c", READ_SCRIPT, "sh", filePath], env: {}, ...(user ? { user } : {}) });
  const stderr = collect(proc.stderr, 4096);
  let sent = 0;
  proc.stdout.on("data", (chunk: Buffer) => {
    if (!res.headersSent) res.writeHead(200, { "Content-Type": "application/octet-stream", "Cache-Control": "no-store" });
    sent += chunk.length;
    if (sent > maxFileBytes) {
      proc.kill("SIGKILL");
      res.destroy();
      return;
    }
    if (!res.write(chunk)) {
      proc.stdout.pause();
      res.once("drain", () => proc.stdout.resume());
    }
  });
  res.on("close", () => {
    if (!res.writableFinished) proc.kill("SIGKILL");
  });
  const exit = await proc.exited;
  if (res.destroyed) return;
  if (res.headersSent) {
    if (exit.exitCode === 0) res.end();
    else res.destroy();
    return;
  }
  if (exit.exitCode === 0) {
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": 0 });
    res.end();
  } else if (exit.exitCode === MISSING) sendError(res, 404, `path '${filePath}' does not exist`);
  else if (exit.exitCode === DIRECTORY) sendError(res, 400, `path '${filePath}' is a directory`);
  else sendError(res, 500, `cannot read '${filePath}': ${(await stderr).trim() || `exit status ${exit.exitCode}`}`);
}

/** `POST /files`: each multipart `file` part written to `?path=` (or its file name); answers `[{name, type, path}]`. */
export async function writeFiles(
  req: IncomingMessage,
  res: ServerResponse,
  exec: Exec,
  queryPath: string | undefined,
  user: string | undefined,
  maxFileBytes: number,
): Promise<void> {
  let bb: Busboy.Busboy;
  try {
    bb = Busboy({ headers: req.headers, preservePath: true, limits: { fileSize: maxFileBytes, files: 100, fields: 100 } });
  } catch (err) {
    return sendError(res, 400, `expected a multipart/form-data body: ${(err as Error).message}`);
  }
  // By part order, whatever order the writes finish in.
  const written: ({ name: string; type: "file"; path: string } | undefined)[] = [];
  let failure: { status: number; message: string } | null = null;
  let chain: Promise<unknown> = Promise.resolve();
  bb.on("file", (field, stream, info) => {
    const target = queryPath ?? info.filename;
    if (failure || field !== "file" || !target) {
      stream.resume();
      return;
    }
    const slot = written.length;
    written.push(undefined);
    let tooLarge = false;
    stream.once("limit", () => {
      tooLarge = true;
    });
    // Each part streams into its own command as busboy reads it (backpressure through pipe).
    const job = (async () => {
      const proc = await exec({ cmd: "/bin/sh", args: ["-c", WRITE_SCRIPT, "sh", target], env: {}, stdin: true, ...(user ? { user } : {}) });
      const stderr = collect(proc.stderr, 4096);
      proc.stdout.resume();
      stream.pipe(proc.stdin!);
      const exit = await proc.exited;
      if (tooLarge) failure ??= { status: 413, message: `file is larger than ${maxFileBytes} bytes` };
      else if (exit.exitCode !== 0) failure ??= { status: 500, message: `cannot write '${target}': ${(await stderr).trim() || `exit status ${exit.exitCode}`}` };
      else written[slot] = { name: path.posix.basename(target), type: "file", path: target };
    })().catch((err: unknown) => {
      stream.resume();
      failure ??= { status: 502, message: (err as Error).message };
    });
    chain = Promise.all([chain, job]);
  });
  const done = new Promise<void>((resolve, reject) => {
    bb.once("close", resolve);
    bb.once("error", reject);
  });
  req.pipe(bb);
  try {
    await done;
  } catch (err) {
    failure ??= { status: 400, message: `malformed multipart body: ${(err as Error).message}` };
  }
  await chain;
  if (failure) return sendError(res, failure.status, failure.message);
  if (written.length === 0) return sendError(res, 400, "no file part in the request");
  const body = JSON.stringify(written.filter((w) => w !== undefined));
  res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}
