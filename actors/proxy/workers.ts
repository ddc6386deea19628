/**
 * `corral proxy --workers N`: N replicas in N processes sharing one listening
 * port (node:cluster). Each worker is a complete replica (its own NATS
 * connection, route table, auto-resumer and activity batches), so nothing new
 * has to be kept consistent: replicas already share nothing but the KV and
 * the broadcasts, and the owning node makes concurrent auto-resumes one.
 * This is how the proxy uses more than one core, as nginx does with
 * `worker_processes`: one node process tops out at about one core.
 *
 * The primary only supervises: it prints the address once every worker is
 * ready, re-forks a worker that dies, and on SIGINT/SIGTERM stops them all.
 */
import cluster, { type Worker } from "node:cluster";
import { UnavailableError } from "../../src/errors.js";
import type { Logger } from "../../src/log.js";

/** What a worker tells the primary once its replica is ready. */
export interface WorkerReady {
  type: "corral-proxy-ready";
  port: number;
}

function isReady(msg: unknown): msg is WorkerReady {
  return typeof msg === "object" && msg !== null && (msg as WorkerReady).type === "corral-proxy-ready";
}

/** In a worker: tells the primary that this replica serves on `port`. */
export function reportWorkerReady(port: number): void {
  process.send?.({ type: "corral-proxy-ready", port } satisfies WorkerReady);
}

/** Delay before a worker that died is replaced (so a crash loop does not spin). */
const RESTART_DELAY_MS = 1_000;

/**
 * In the primary: forks `count` workers running this same command line,
 * resolves with the shared port once all are ready, then supervises until
 * `stopSignal` resolves; resolves the returned `stopped` after every worker exited.
 *
 * @throws UnavailableError when a worker exits before it is ready (its error is on stderr)
 */
export async function runWorkers(count: number, stopSignal: Promise<unknown>, log: Logger): Promise<{ port: number; stopped: Promise<void> }> {
  let stopping = false;
  const fork = (): Worker => cluster.fork({ CORRAL_PROXY_WORKER: "1" });
  const workers = new Set<Worker>();

  const firstReady = (w: Worker): Promise<number> =>
    new Promise((resolve, reject) => {
      const onMessage = (msg: unknown) => {
        if (!isReady(msg)) return;
        w.off("exit", onExit);
        resolve(msg.port);
      };
      const onExit = (code: number | null, signal: string | null) => {
        w.off("message", onMessage);
        reject(new UnavailableError(`proxy worker ${w.process.pid} exited (${code ?? signal}) before it was ready; see its error above`));
      };
      w.on("message", onMessage);
      w.once("exit", onExit);
    });

  const supervise = (w: Worker): void => {
    workers.add(w);
    w.once("exit", (code, signal) => {
      workers.delete(w);
      if (stopping) return;
      // A crashed replica is replaced; the others keep serving meanwhile.
      log.error({ pid: w.process.pid, code, signal }, "proxy worker died; starting another");
      setTimeout(() => {
        if (!stopping) supervise(fork());
      }, RESTART_DELAY_MS).unref();
    });
  };

  const initial = Array.from({ length: count }, fork);
  let port: number;
  try {
    const ports = await Promise.all(initial.map(firstReady));
    port = ports[0]!;
  } catch (err) {
    stopping = true;
    for (const w of initial) w.process.kill("SIGTERM");
    throw err;
  }
  for (const w of initial) supervise(w);

  const stopped = stopSignal.then(async () => {
    stopping = true;
    await Promise.all(
      [...workers].map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.isDead()) return resolve();
            w.once("exit", () => resolve());
            w.process.kill("SIGTERM");
          }),
      ),
    );
  });
  return { port, stopped };
}
