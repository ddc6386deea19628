/**
 * The embedded nats-server of `corral up`: JetStream with its store under the
 * data dir, loopback only. It is a child in corral up's process group, so a
 * Ctrl-C reaches it too; corral up still stops it last, after the node has
 * flushed its writes.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { UnavailableError } from "../../src/errors.js";

export interface EmbeddedNats {
  url: string;
  child: ChildProcess;
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/** Starts nats-server on `port` and resolves once it accepts clients. */
export async function startEmbeddedNats(dataDir: string, port: number, logFile: string): Promise<EmbeddedNats> {
  if (await portAnswers(port)) {
    throw new UnavailableError(`port ${port} is already in use: stop what listens there, pass --nats-port, or join it with --nats-url nats://127.0.0.1:${port}`);
  }
  const storeDir = path.join(dataDir, "nats");
  fs.mkdirSync(storeDir, { recursive: true });
  const out = fs.openSync(logFile, "a");
  const child = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir, "-n", "corral-up"], {
    stdio: ["ignore", out, out],
  });
  fs.closeSync(out);
  const exited = new Promise<never>((_, reject) => {
    child.once("error", (err: NodeJS.ErrnoException) =>
      reject(new UnavailableError(err.code === "ENOENT" ? "nats-server is not installed: run `node scripts/bootstrap`" : err.message)),
    );
    child.once("exit", (code) => reject(new UnavailableError(`nats-server exited with ${code}; see ${logFile}`)));
  });
  const deadline = Date.now() + 15_000;
  while (!(await Promise.race([portAnswers(port), exited]))) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new UnavailableError(`nats-server did not accept connections within 15 s; see ${logFile}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  exited.catch(() => {}); // later exits are handled by the supervisor
  return { url: `nats://127.0.0.1:${port}`, child };
}
