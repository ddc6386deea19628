/** A minimal client of Corral's envd endpoint (Connect + JSON framing), for tests that talk to it without the E2B SDK. */
import http from "node:http";
import { envelope } from "../../src/connect-frames.js";

/** One decoded envelope of a streamed reply. */
export interface Frame {
  flags: number;
  message: Record<string, unknown>;
}

/** What a `process.Process/Start` call produced. */
export interface StartResult {
  status: number;
  frames: Frame[];
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  endError: unknown;
}


function decodeFrames(buf: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at + 5 <= buf.length) {
    const len = buf.readUInt32BE(at + 1);
    frames.push({ flags: buf[at]!, message: JSON.parse(buf.subarray(at + 5, at + 5 + len).toString()) as Record<string, unknown> });
    at += 5 + len;
  }
  return frames;
}

/** A raw HTTP exchange. */
export function request(base: string, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, base), { method: opts.method ?? "GET", headers: opts.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Calls `process.Process/Start` and collects the whole stream. */
export async function start(base: string, prefix: string, token: string | undefined, process: Record<string, unknown>, headers: Record<string, string> = {}): Promise<StartResult> {
  const res = await request(base, `${prefix}/process.Process/Start`, {
    method: "POST",
    headers: { "Content-Type": "application/connect+json", "Connect-Protocol-Version": "1", ...(token ? { "X-Access-Token": token } : {}), ...headers },
    body: envelope({ process }),
  });
  const frames = res.status === 200 ? decodeFrames(res.body) : [];
  let stdout = "";
  let stderr = "";
  let exitCode: number | undefined;
  let endError: unknown;
  for (const f of frames) {
    if (f.flags & 2) {
      endError = f.message.error;
      continue;
    }
    const event = (f.message.event ?? {}) as Record<string, Record<string, unknown>>;
    if (event.data?.stdout) stdout += Buffer.from(event.data.stdout as string, "base64").toString();
    if (event.data?.stderr) stderr += Buffer.from(event.data.stderr as string, "base64").toString();
    if (event.end) exitCode = (event.end.exitCode as number | undefined) ?? 0;
  }
  return { status: res.status, frames, stdout, stderr, exitCode, endError };
}

/** A multipart body with one `file` part. */
export function multipart(filename: string, content: Buffer | string): { body: Buffer; contentType: string } {
  const boundary = `----corral${Math.random().toString(16).slice(2)}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/octet-stream\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return { body: Buffer.concat([head, Buffer.from(content), tail]), contentType: `multipart/form-data; boundary=${boundary}` };
}
