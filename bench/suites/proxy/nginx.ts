/**
 * Debian's nginx for the proxy suite: the fast upstream (`return 200`) and
 * the reference reverse proxy with upstream keep-alive (the class of proxy
 * CubeSandbox puts in front of its sandboxes). Each instance runs in the
 * foreground under a temp prefix, so nothing touches /etc/nginx.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { waitHttp } from "../../lib/http.js";
import { freePort, spawnReady, stopChild } from "../../lib/procs.js";
import type { SuiteContext } from "../../lib/types.js";

const common = (prefix: string, workers: number | "auto", accessLog: boolean) => `
${process.getuid?.() === 0 ? "user root root;" : ""}
worker_processes ${workers};
pid ${prefix}/nginx.pid;
error_log ${prefix}/error.log warn;
events { worker_connections 4096; }
http {
  ${accessLog ? `access_log ${prefix}/access.log;` : "access_log off;"}
  client_body_temp_path ${prefix}/body;
  proxy_temp_path ${prefix}/proxy;
  fastcgi_temp_path ${prefix}/fastcgi;
  uwsgi_temp_path ${prefix}/uwsgi;
  scgi_temp_path ${prefix}/scgi;
  keepalive_requests 1000000;
`;

/** Starts nginx with the config `conf(prefix, port)` on a free port; resolves with the port once `/` answers 200. */
async function startNginx(ctx: Pick<SuiteContext, "cleanup">, name: string, conf: (prefix: string, port: number) => string): Promise<number> {
  const port = await freePort();
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `corral-bench-${name}-`));
  ctx.cleanup(() => fs.rmSync(prefix, { recursive: true, force: true }));
  fs.writeFileSync(path.join(prefix, "nginx.conf"), conf(prefix, port));
  // nginx prints nothing when it is up: polled instead.
  const { child } = await spawnReady(name, "nginx", ["-p", prefix, "-c", path.join(prefix, "nginx.conf"), "-g", "daemon off;"], {});
  ctx.cleanup(() => stopChild(child));
  await waitHttp("127.0.0.1", port, "/", (status) => status === 200, { timeoutMs: 10_000, intervalMs: 50 });
  return port;
}

/** A static upstream (one worker): every request answers 200 with a 3-byte body. */
export const startUpstream = (ctx: Pick<SuiteContext, "cleanup">) =>
  startNginx(ctx, "nginx-upstream", (prefix, port) => `${common(prefix, 1, false)}
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } }
}
`);

/** A reverse proxy (a worker per core, access log on) to `upstreamPort` over HTTP/1.1 with a keep-alive pool. */
export const startReverseProxy = (ctx: Pick<SuiteContext, "cleanup">, upstreamPort: number) =>
  startNginx(ctx, "nginx-proxy", (prefix, port) => `${common(prefix, "auto", true)}
  upstream sandbox { server 127.0.0.1:${upstreamPort}; keepalive 64; keepalive_requests 1000000; }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://sandbox;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }
  }
}
`);
