// Small HTTP helpers for bench/proxy.mjs (keep-alive agents, timed requests).
import http from "node:http";

/** One request; resolves with status, headers and body text. */
export function request(port, path, headers = {}, { agent = false, method = "GET" } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path, headers, agent, method }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Polls until `path` answers `status` (default 200). */
export async function waitHttp(port, path, headers = {}, timeoutMs = 10_000, status = 200) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await request(port, path, headers).catch(() => null);
    if (r && r.status === status) return r;
    if (Date.now() > deadline) throw new Error(`port ${port}${path} did not answer ${status} within ${timeoutMs} ms (last: ${r ? r.status : "no answer"})`);
    await new Promise((res) => setTimeout(res, 50));
  }
}
