// Throughput and latency on one fast upstream (nginx `return 200`): direct,
// through Debian's nginx as a keep-alive reverse proxy, and through Corral's
// proxy (1 and N workers), with wrk -t2 -c32. Targets are measured in
// interleaved rounds and summarized by their medians, because a shared
// 2-core machine drifts by tens of percent from one minute to the next.
import os from "node:os";
import path from "node:path";
import { startCorralProxy, openSeeder } from "./corral.mjs";
import { request } from "./http.mjs";
import { startReverseProxy, startUpstream } from "./nginx.mjs";
import { freePort } from "./procs.mjs";
import { median } from "./stats.mjs";
import { wrk } from "./wrk.mjs";

/**
 * Runs the throughput section; returns one row per target:
 * `{name, rps, p50Ms, p99Ms, rounds: [...]}`.
 */
export async function runThroughput({ natsUrl, seconds, rounds, workers, logDir }) {
  const upstream = await startUpstream(await freePort(), { workers: 1 });
  const nginx = await startReverseProxy(await freePort(), upstream.port, { workers: "auto", accessLog: true });
  const seeder = await openSeeder(natsUrl);
  const stops = [() => upstream.stop(), () => nginx.stop(), () => seeder.close()];
  try {
    const { id, token } = await seeder.seed({ host: "127.0.0.1", ports: { "8080": upstream.port } });
    const headers = { Host: `8080-${id}.corral.localhost`, "X-Corral-Traffic-Token": token };
    const targets = [
      { name: "direct", port: upstream.port, headers: {} },
      { name: `nginx (${os.availableParallelism()} workers)`, port: nginx.port, headers: {}, nginx: true },
    ];
    for (const w of [...new Set([1, workers])]) {
      const proxy = await startCorralProxy(natsUrl, { workers: w, logFile: path.join(logDir, `corral-proxy-w${w}.log`) });
      stops.push(() => proxy.stop());
      const check = await request(proxy.port, "/", headers);
      if (check.status !== 200) throw new Error(`corral proxy answered ${check.status}: ${check.body}`);
      targets.push({ name: `corral (${w} worker${w > 1 ? "s" : ""})`, port: proxy.port, headers, corral: w });
    }
    const samples = new Map(targets.map((t) => [t, []]));
    for (let r = 0; r < rounds; r++) {
      for (const t of targets) {
        const res = wrk(`http://127.0.0.1:${t.port}/`, { seconds, headers: t.headers });
        if (res.non2xx > 0 || res.socketErrors > 0) throw new Error(`${t.name}: ${res.non2xx} non-2xx answers, ${res.socketErrors} socket errors\n${res.raw}`);
        samples.get(t).push(res);
      }
    }
    return targets.map((t) => {
      const runs = samples.get(t);
      return {
        name: t.name,
        kind: t.nginx ? "nginx" : t.corral ? "corral" : "direct",
        workers: t.corral ?? null,
        rps: median(runs.map((x) => x.rps)),
        p50Ms: median(runs.map((x) => x.p50Ms)),
        p99Ms: median(runs.map((x) => x.p99Ms)),
        rounds: runs.map((x) => Math.round(x.rps)),
      };
    });
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
  }
}
