/**
 * The "HTTP ready" probe of the create benchmarks: GET the sandbox's `/id`
 * until it answers 200 with the sandbox's id. A fresh connection per attempt
 * (no keep-alive), retried every 2 ms like the drivers' TCP readiness, so the
 * baseline and Corral are timed to the same event.
 */
import http from "node:http";

/** One GET; resolves with status and body, rejects on a connection error or after `timeoutMs`. */
export function httpGet(host: string, port: number, path: string, timeoutMs = 1_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET http://${host}:${port}${path} timed out`)));
    req.on("error", reject);
  });
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Resolves once `GET /id` answers 200 with `id` (trimmed); throws after `timeoutMs`. Returns the attempts it took. */
export async function waitHttpId(host: string, port: number, id: string, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await httpGet(host, port, "/id");
      if (res.status === 200 && res.body.trim() === id) return attempt;
      last = `status ${res.status} body ${JSON.stringify(res.body.slice(0, 80))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`GET http://${host}:${port}/id not answering ${id} within ${timeoutMs} ms (last: ${last})`);
    await delay(2);
  }
}
