// Debian's nginx for bench/proxy.mjs: the fast upstream (`return 200`) and the
// reference reverse proxy with upstream keep-alive (the class of proxy
// CubeSandbox puts in front of its sandboxes). Each instance runs in the
// foreground under a temp prefix, so nothing touches /etc/nginx.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawnReady, stop } from "./procs.mjs";
import { waitHttp } from "./http.mjs";

function common(prefix, workers, accessLog) {
  const asRoot = typeof process.getuid === "function" && process.getuid() === 0;
  return `
${asRoot ? "user root root;" : ""}
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
}

async function start(name, conf, port) {
  const prefix = fs.mkdtempSync(path.join(os.tmpdir(), `corral-bench-${name}-`));
  fs.writeFileSync(path.join(prefix, "nginx.conf"), conf(prefix));
  const { child } = await spawnReady(name, "nginx", ["-p", prefix, "-c", path.join(prefix, "nginx.conf"), "-g", "daemon off;"]);
  await waitHttp(port, "/", {}, 10_000);
  return {
    port,
    async stop() {
      await stop(child);
      fs.rmSync(prefix, { recursive: true, force: true });
    },
  };
}

/** A static upstream: every request answers 200 with a 3-byte body. */
export function startUpstream(port, { workers = 1 } = {}) {
  return start(
    "nginx-upstream",
    (prefix) => `${common(prefix, workers, false)}
  server { listen 127.0.0.1:${port}; location / { return 200 "ok\\n"; } }
}
`,
    port,
  );
}

/** A reverse proxy to `upstreamPort` over HTTP/1.1 with a keep-alive pool. */
export function startReverseProxy(port, upstreamPort, { workers = "auto", accessLog = true } = {}) {
  return start(
    "nginx-proxy",
    (prefix) => `${common(prefix, workers, accessLog)}
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
`,
    port,
  );
}
