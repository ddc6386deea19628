/** Which driver a node should use when none is named: docker when an engine answers, else process. */
import http from "node:http";
import type { DriverKind } from "./types.js";

/** The Docker socket: `CORRAL_DOCKER_SOCKET`, else `/var/run/docker.sock`. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.CORRAL_DOCKER_SOCKET ?? "/var/run/docker.sock";
}

/** True when a Docker engine answers `GET /_ping` within `timeoutMs`. */
export function dockerAnswers(socketPath = dockerSocketPath(), timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.request({ socketPath, path: "/_ping", timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/** `docker` when an engine answers, else `process`. */
export async function defaultDriverKind(): Promise<DriverKind> {
  return (await dockerAnswers()) ? "docker" : "process";
}
