/**
 * HTTP probes of the suites. `waitHttpId` is the "HTTP ready" probe of the
 * create benchmarks: GET the sandbox's `/id` until it answers 200 with the
 * sandbox's id, a fresh connection per attempt (no keep-alive), retried
 * every 2 ms like the drivers' TCP readiness, so the baseline and Corral are
 * timed to the same event.
 */
import http from "node:http";

/** Options of {@link httpGet}. */
export interface GetOptions {
  headers?: Record<string, string>;
  /** @default false: a fresh connection */
  agent?: http.Agent | false;
  /** Socket idle timeout. @default 1_000 */
  timeoutMs?: number;
}

/** One GET; resolves with status and body, rejects on a connection error or an idle socket. */
export function httpGet(host: string, port: number, path: string, { headers = {}, agent = false, timeoutMs = 1_000 }: GetOptions = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, headers, agent, timeout: timeoutMs }, (res) => {
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

/** Resolves once `GET path` answers `ok(status, body)`, polling every `intervalMs`; throws after `timeoutMs` with the last answer. */
export async function waitHttp(
  host: string,
  port: number,
  path: string,
  ok: (status: number, body: string) => boolean,
  { timeoutMs = 30_000, intervalMs = 2, headers = {} }: { timeoutMs?: number; intervalMs?: number; headers?: Record<string, string> } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    try {
      const res = await httpGet(host, port, path, { headers });
      if (ok(res.status, res.body)) return;
      last = `status ${res.status} body ${JSON.stringify(res.body.slice(0, 80))}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`GET http://${host}:${port}${path} not ready within ${timeoutMs} ms (last: ${last})`);
    await delay(intervalMs);
  }
}

/** Resolves once `GET /id` answers 200 with `id` (trimmed); throws after `timeoutMs`. */
export function waitHttpId(host: string, port: number, id: string, timeoutMs = 30_000): Promise<void> {
  return waitHttp(host, port, "/id", (status, body) => status === 200 && body.trim() === id, { timeoutMs });
}
