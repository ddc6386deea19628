// Runs wrk and parses its summary (requests/s, latency percentiles, errors).
import { spawnSync } from "node:child_process";

function toMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "ms" ? v : m[2] === "s" ? v * 1000 : v * 60_000;
}

/**
 * `wrk -t<threads> -c<connections> -d<seconds>s --latency` against `url`
 * with `headers`. Returns `{rps, p50Ms, p99Ms, requests, non2xx, socketErrors}`.
 */
export function wrk(url, { threads = 2, connections = 32, seconds = 10, headers = {} } = {}) {
  const args = [`-t${threads}`, `-c${connections}`, `-d${seconds}s`, "--latency"];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  args.push(url);
  const res = spawnSync("wrk", args, { encoding: "utf8", timeout: (seconds + 30) * 1000 });
  if (res.status !== 0) throw new Error(`wrk failed (${res.status}): ${res.stderr || res.stdout}`);
  const out = res.stdout;
  const num = (re) => {
    const m = re.exec(out);
    return m ? m[1] : undefined;
  };
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    rps: Number(num(/Requests\/sec:\s+([\d.]+)/)),
    p50Ms: toMs(num(/^\s+50%\s+(\S+)/m) ?? ""),
    p99Ms: toMs(num(/^\s+99%\s+(\S+)/m) ?? ""),
    requests: Number(num(/(\d+) requests in/)),
    non2xx: Number(num(/Non-2xx or 3xx responses: (\d+)/) ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((a, b) => a + Number(b), 0) : 0,
    raw: out,
  };
}
