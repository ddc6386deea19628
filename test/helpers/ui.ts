/**
 * The visualizer for integration tests: `corral ui` as a child process (the
 * real command, serving the built bundle from dist/ui), on a free port.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CORRAL_BIN } from "./node.js";
import { waitUntil } from "./wait.js";

/** The login token of every UI this test process spawns (one, so a restarted UI accepts the same session). */
export const TEST_UI_TOKEN = randomBytes(24).toString("base64url");
let tokenFile: string | null = null;

function testTokenFile(): string {
  if (tokenFile === null) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-ui-token-"));
    tokenFile = path.join(dir, "token");
    fs.writeFileSync(tokenFile, `${TEST_UI_TOKEN}\n`, { mode: 0o600 });
  }
  return tokenFile;
}

/** A running `corral ui`. */
export interface SpawnedUi {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** `url` with `?token=`: opening it logs a browser in. */
  loginUrl: string;
  /** Headers that log a plain HTTP request in. */
  authHeaders: Record<string, string>;
  child: ChildProcess;
  /** Everything it wrote (stdout and stderr). */
  output(): string;
  /** SIGTERM and wait for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Spawns `corral ui --nats-url <natsUrl> --port <port> --token-file <TEST_UI_TOKEN's file> --json` (port 0: a free one) and resolves with its address once it serves. */
export async function spawnUi(natsUrl: string, env: NodeJS.ProcessEnv = {}, port = 0): Promise<SpawnedUi> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOG_LEVEL: process.env.CORRAL_LOG_LEVEL ?? "warn", ...env };
  delete childEnv.VITEST; // a real server: its logger must not be silenced as a test's is
  const child = spawn(process.execPath, [CORRAL_BIN, "ui", "--nats-url", natsUrl, "--port", String(port), "--token-file", testTokenFile(), "--json"], { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = waitUntil(() => /\{"ui":"([^"]+)"\}/.exec(output)?.[1], { timeoutMs: 30_000, what: "corral ui to print its address" });
  const started = await Promise.race([url, exited.then((code) => Promise.reject(new Error(`corral ui exited (${code}) before serving:\n${output}`)))]);
  return {
    url: started,
    loginUrl: `${started}?token=${TEST_UI_TOKEN}`,
    authHeaders: { Authorization: `Bearer ${TEST_UI_TOKEN}` },
    child,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}
