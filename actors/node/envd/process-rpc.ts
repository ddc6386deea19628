/**
 * envd's `process.Process/Start` (server streaming) and `SendSignal` (unary)
 * over Connect + JSON, as E2B's SDK calls them (`commands.run`, `kill`):
 *
 * - Start: one request envelope `{process: {cmd, args, envs, cwd}, stdin}`;
 *   the reply streams `{event: {start: {pid}}}`, then `{event: {data:
 *   {stdout|stderr: <base64>}}}` as output comes, `{event: {keepalive: {}}}`
 *   every `Keepalive-Ping-Interval` seconds of silence, and finally
 *   `{event: {end: {exitCode, exited, status}}}` and the end-of-stream
 *   envelope. A client that goes away kills the command (SIGKILL).
 * - SendSignal: `{process: {pid}, signal: "SIGNAL_SIGKILL" | "SIGNAL_SIGTERM"}`.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { z } from "zod";
import type { ExecProcess, ExecRequest } from "../../../src/drivers/exec.js";
import { endStream, envelope, firstMessage } from "../../../src/connect-frames.js";

export const StartRequestSchema = z.object({
  process: z.object({
    cmd: z.string().min(1),
    args: z.array(z.string()).default([]),
    envs: z.record(z.string(), z.string()).default({}),
    cwd: z.string().min(1).optional(),
  }),
  pty: z.unknown().optional(),
  tag: z.string().optional(),
  stdin: z.boolean().optional(),
});

export const SendSignalRequestSchema = z.object({
  process: z.object({ pid: z.number().int().positive() }),
  signal: z.union([z.enum(["SIGNAL_SIGKILL", "SIGNAL_SIGTERM"]), z.literal(9), z.literal(15)]),
});

/** The ExecRequest of a validated Start request. */
export function execRequestOf(start: z.infer<typeof StartRequestSchema>, user: string | undefined): ExecRequest {
  return {
    cmd: start.process.cmd,
    args: start.process.args,
    env: start.process.envs,
    ...(start.process.cwd ? { cwd: start.process.cwd } : {}),
    ...(user ? { user } : {}),
    stdin: start.stdin === true,
  };
}

/** Parses a Start body (one envelope); throws a message for `invalid_argument`. */
export function parseStart(body: Buffer): z.infer<typeof StartRequestSchema> {
  const parsed = StartRequestSchema.safeParse(firstMessage(body));
  if (!parsed.success) throw new Error(`invalid StartRequest: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  if (parsed.data.pty !== undefined && parsed.data.pty !== null) throw new Error("pty is not supported by Corral's envd");
  return parsed.data;
}

/**
 * Streams a started process to `res` until it exits; resolves when the
 * stream is closed. `pid` is the number the client names the process by
 * (envd's own, not the engine's). `keepaliveMs` 0 sends none; `deadlineMs`
 * 0 sets no deadline.
 */
export async function streamProcess(req: IncomingMessage, res: ServerResponse, pid: number, proc: ExecProcess, keepaliveMs: number, deadlineMs: number): Promise<void> {
  res.writeHead(200, { "Content-Type": "application/connect+json", "Cache-Control": "no-store" });
  res.flushHeaders();
  res.write(envelope({ event: { start: { pid } } }));
  let lastWrite = Date.now();
  const send = (frame: Buffer) => {
    lastWrite = Date.now();
    res.write(frame);
  };
  const onData = (name: "stdout" | "stderr") => (chunk: Buffer) => send(envelope({ event: { data: { [name]: chunk.toString("base64") } } }));
  proc.stdout.on("data", onData("stdout"));
  proc.stderr.on("data", onData("stderr"));
  let finished = false;
  // A client that stops listening (cancel, timeout, dropped connection) ends the command.
  const onGone = () => {
    if (!finished) proc.kill("SIGKILL");
  };
  res.on("close", onGone);
  const keepalive =
    keepaliveMs > 0
      ? setInterval(() => {
          if (Date.now() - lastWrite >= keepaliveMs) send(envelope({ event: { keepalive: {} } }));
        }, keepaliveMs)
      : null;
  let timedOut = false;
  const deadline =
    deadlineMs > 0
      ? setTimeout(() => {
          timedOut = true;
          proc.kill("SIGKILL");
        }, deadlineMs)
      : null;
  const exit = await proc.exited;
  finished = true;
  if (keepalive) clearInterval(keepalive);
  if (deadline) clearTimeout(deadline);
  res.off("close", onGone);
  if (res.destroyed) return;
  if (timedOut) {
    res.end(endStream({ code: "deadline_exceeded", message: `command did not finish within ${deadlineMs} ms` }));
    return;
  }
  const end: Record<string, unknown> = { exitCode: exit.exitCode, exited: exit.exitCode >= 0, status: `exit status ${exit.exitCode}` };
  if (exit.error) end.error = exit.error;
  res.write(envelope({ event: { end } }));
  res.end(endStream());
  void req;
}
