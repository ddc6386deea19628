// Process plumbing for bench/proxy.mjs: free ports, child processes that are
// always stopped, and readiness waits. Standard library only.
import { spawn } from "node:child_process";
import net from "node:net";

/** A TCP port that was free a moment ago (the OS picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

const children = new Set();

/** `child_process.spawn`, remembered so that `stopAll` and process exit stop it. */
export function spawnTracked(cmd, args, options) {
  const child = spawn(cmd, args, options);
  children.add(child);
  child.once("exit", () => children.delete(child));
  return child;
}

/**
 * Spawns a child that `stopAll` (and process exit) will stop. `ready(line)`
 * is called with each stdout/stderr line until it returns a truthy value,
 * which `spawnReady` resolves with.
 */
export function spawnReady(name, cmd, args, { ready, env, timeoutMs = 15_000 } = {}) {
  const child = spawnTracked(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: env ?? process.env });
  let log = "";
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => finish(new Error(`${name} not ready in ${timeoutMs} ms:\n${log.slice(-2000)}`)), timeoutMs);
    const finish = (err, value) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve({ child, value, log: () => log });
    };
    const onData = (chunk) => {
      const text = chunk.toString();
      if (log.length < 100_000) log += text;
      if (done || !ready) return;
      for (const line of text.split("\n")) {
        const v = ready(line);
        if (v) return finish(null, v);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", (err) => finish(err));
    child.once("exit", (code, signal) => finish(new Error(`${name} exited (${code ?? signal}) before it was ready:\n${log.slice(-2000)}`)));
    if (!ready) finish(null, true);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
export function stop(child, graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** Stops every child this module started. */
export async function stopAll() {
  await Promise.all([...children].map((c) => stop(c)));
}

process.once("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
