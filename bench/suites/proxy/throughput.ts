/**
 * Throughput and latency on one fast upstream (nginx `return 200`): direct,
 * through Debian's nginx as a keep-alive reverse proxy, and through Corral's
 * proxy (1 and N workers), with wrk -t2 -c32. The targets are measured in
 * interleaved rounds and summarized by their medians, so that a shared
 * machine's drift from one minute to the next weighs on each alike.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import path from "node:path";
import { httpGet } from "../../lib/http.js";
import { median } from "../../lib/stats.js";
import type { SuiteContext } from "../../lib/types.js";
import { startReverseProxy, startUpstream } from "./nginx.js";
import { seedSandbox, startReplica } from "./replica.js";

/** One wrk run's summary. */
interface WrkResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
}

const WRK_UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3, m: 6e4 };

/** `wrk -t2 -c32 -d<seconds>s --latency` against `url`; a non-2xx answer or a socket error fails the run. */
function wrk(name: string, url: string, seconds: number, headers: Record<string, string>): WrkResult {
  const args = ["-t2", "-c32", `-d${seconds}s`, "--latency", ...Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]), url];
  const res = spawnSync("wrk", args, { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  if (res.status !== 0) throw new Error(`wrk failed (${res.status}): ${res.stderr || res.stdout}`);
  const out = res.stdout;
  const ms = (re: RegExp) => {
    const m = /^([\d.]+)(us|ms|s|m)$/.exec(re.exec(out)?.[1] ?? "");
    return m ? Number(m[1]) * WRK_UNITS[m[2]!]! : NaN;
  };
  const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1] ?? 0);
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const socketErrors = errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0;
  if (non2xx > 0 || socketErrors > 0) throw new Error(`${name}: ${non2xx} non-2xx answers, ${socketErrors} socket errors\n${out}`);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), p50Ms: ms(/^\s+50%\s+(\S+)/m), p99Ms: ms(/^\s+99%\s+(\S+)/m) };
}

/** One target's medians over the rounds, and each round's req/s. */
export interface ThroughputRow extends WrkResult {
  name: string;
  kind: "direct" | "nginx" | "corral";
  rounds: number[];
}

/** Runs `rounds` interleaved rounds of `seconds` per target; Corral runs with 1 and `workers` workers. */
export async function runThroughput(
  ctx: Pick<SuiteContext, "nats" | "cleanup">,
  { seconds, rounds, workers, logDir }: { seconds: number; rounds: number; workers: number; logDir: string },
): Promise<ThroughputRow[]> {
  const upstream = await startUpstream(ctx);
  const nginx = await startReverseProxy(ctx, upstream);
  const { id, token } = await seedSandbox(ctx, { host: "127.0.0.1", ports: { "8080": upstream } });
  const headers = { Host: `8080-${id}.corral.localhost`, "X-Corral-Traffic-Token": token };
  const targets: { name: string; kind: ThroughputRow["kind"]; port: number; headers: Record<string, string> }[] = [
    { name: "direct", kind: "direct", port: upstream, headers: {} },
    { name: `nginx (${os.availableParallelism()} workers)`, kind: "nginx", port: nginx, headers: {} },
  ];
  for (const w of new Set([1, workers])) {
    const port = await startReplica(ctx, path.join(logDir, `corral-proxy-w${w}.log`), w);
    const check = await httpGet("127.0.0.1", port, "/", { headers });
    if (check.status !== 200) throw new Error(`corral proxy answered ${check.status}: ${check.body}`);
    targets.push({ name: `corral (${w} worker${w > 1 ? "s" : ""})`, kind: "corral", port, headers });
  }
  const runs = targets.map((): WrkResult[] => []);
  for (let r = 0; r < rounds; r++) targets.forEach((t, i) => runs[i]!.push(wrk(t.name, `http://127.0.0.1:${t.port}/`, seconds, t.headers)));
  return targets.map((t, i) => ({
    name: t.name,
    kind: t.kind,
    rps: median(runs[i]!.map((x) => x.rps)),
    p50Ms: median(runs[i]!.map((x) => x.p50Ms)),
    p99Ms: median(runs[i]!.map((x) => x.p99Ms)),
    rounds: runs[i]!.map((x) => Math.round(x.rps)),
  }));
}
