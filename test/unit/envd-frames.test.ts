// envd's Connect framing and token (issue 18).
import { describe, expect, it } from "vitest";
import { END_STREAM_FLAG, endStream, envelope, firstMessage } from "../../src/connect-frames.js";
import { parseStart } from "../../actors/node/envd/process-rpc.js";
import { BASH_OR_SH, execArgv } from "../../src/drivers/exec.js";
import { parseEnviron } from "../../src/drivers/process-exec.js";
import { deriveEnvdToken, envdTokenMatches } from "../../src/envd-token.js";

describe("Connect envelopes", () => {
  it("round-trips a message and marks the end of stream", () => {
    const frame = envelope({ event: { start: { pid: 3 } } });
    expect(frame[0]).toBe(0);
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    expect(firstMessage(frame)).toEqual({ event: { start: { pid: 3 } } });
    const end = endStream({ code: "unavailable", message: "gone" });
    expect(end[0]).toBe(END_STREAM_FLAG);
    expect(firstMessage(Buffer.from([0, ...end.subarray(1)]))).toEqual({ error: { code: "unavailable", message: "gone" } });
  });

  it("refuses truncated, compressed and malformed Start requests", () => {
    expect(() => firstMessage(Buffer.from([0, 0, 0]))).toThrow(/envelope/);
    expect(() => firstMessage(Buffer.from([0, 0, 0, 0, 9, 123]))).toThrow(/truncated/);
    const compressed = envelope({});
    compressed[0] = 1;
    expect(() => firstMessage(compressed)).toThrow(/compressed/);
    expect(() => parseStart(envelope({ process: {} }))).toThrow(/process.cmd/);
    expect(() => parseStart(envelope({ process: { cmd: "sh" }, pty: { size: { cols: 80, rows: 24 } } }))).toThrow(/pty/);
    expect(parseStart(envelope({ process: { cmd: "/bin/bash", args: ["-l", "-c", "true"] }, stdin: false })).process).toEqual({ cmd: "/bin/bash", args: ["-l", "-c", "true"], envs: {} });
  });
});

describe("exec helpers", () => {
  it("maps bash to a shell that falls back to sh, and nothing else", () => {
    expect(execArgv("/bin/bash", ["-l", "-c", "x"])).toEqual(["/bin/sh", "-c", BASH_OR_SH, "sh", "-l", "-c", "x"]);
    expect(execArgv("/bin/echo", ["a"])).toEqual(["/bin/echo", "a"]);
  });

  it("parses /proc environ", () => {
    expect(parseEnviron("A=1\0B=x=y\0\0")).toEqual({ A: "1", B: "x=y" });
  });
});

describe("envd tokens", () => {
  const secret = Buffer.alloc(32, 7);
  it("match only the same sandbox incarnation under the same secret", () => {
    const token = deriveEnvdToken(secret, "a".repeat(20), 1000);
    expect(envdTokenMatches(secret, "a".repeat(20), 1000, token)).toBe(true);
    expect(envdTokenMatches(secret, "a".repeat(20), 1001, token)).toBe(false);
    expect(envdTokenMatches(secret, "b".repeat(20), 1000, token)).toBe(false);
    expect(envdTokenMatches(Buffer.alloc(32, 8), "a".repeat(20), 1000, token)).toBe(false);
    expect(envdTokenMatches(secret, "a".repeat(20), 1000, undefined)).toBe(false);
    expect(envdTokenMatches(secret, "a".repeat(20), 1000, `${token}x`)).toBe(false);
  });
});
