/**
 * Clients for proxy tests: one HTTP request or one WebSocket handshake through
 * a proxy replica, naming the sandbox in any of the contract's routing forms.
 * Also a `base` container starter (the node's job, played by the test).
 */
import type Docker from "dockerode";
import http from "node:http";
import WebSocket from "ws";
import { BASE_IMAGE } from "../../src/templates.js";
import { NODE_LABEL, SANDBOX_LABEL } from "./docker.js";
import { waitUntil } from "./wait.js";

export const DOMAIN = "corral.localhost";
/** The routing forms (the header form has the Corral and the e2b spelling). */
export const FORMS = ["host", "corral-headers", "e2b-headers", "path"] as const;
export type Form = (typeof FORMS)[number];

export interface ViaOptions {
  token?: string;
  /** Which token header carries `token`. @default "x-corral-traffic-token" */
  tokenHeader?: "x-corral-traffic-token" | "e2b-traffic-access-token";
  method?: string;
  headers?: Record<string, string>;
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** The URL path and headers that name `id`:`port` in `form`. */
export function addressing(form: Form, proxyPort: number, id: string, port: number, path: string, opts: ViaOptions = {}): { path: string; headers: Record<string, string> } {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers[opts.tokenHeader ?? "x-corral-traffic-token"] = opts.token;
  switch (form) {
    case "host":
      return { path, headers: { ...headers, host: `${port}-${id}.${DOMAIN}:${proxyPort}` } };
    case "corral-headers":
      return { path, headers: { ...headers, "X-Corral-Sandbox-Id": id, "X-Corral-Sandbox-Port": String(port) } };
    case "e2b-headers":
      return { path, headers: { ...headers, "E2b-Sandbox-Id": id, "E2b-Sandbox-Port": String(port) } };
    case "path":
      return { path: `/sandboxes/${id}/${port}${path}`, headers };
  }
}

/** A plain HTTP request to the proxy (no naming). */
export function httpRequest(proxyPort: number, path: string, headers: Record<string, string> = {}, method = "GET", body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port: proxyPort, path, method, headers, agent: false }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One HTTP request through the proxy to `id`:`port` + `path`. */
export function via(form: Form, proxyPort: number, id: string, port: number, path: string, opts: ViaOptions = {}): Promise<Reply> {
  const a = addressing(form, proxyPort, id, port, path, opts);
  return httpRequest(proxyPort, a.path, a.headers, opts.method ?? "GET");
}

/**
 * A WebSocket through the proxy: on success sends `message` and resolves
 * with status 101 and the echoed text; on a refused handshake with the
 * proxy's status and body.
 */
export function wsVia(form: Form, proxyPort: number, id: string, port: number, path: string, message: string, opts: ViaOptions = {}): Promise<Reply> {
  const a = addressing(form, proxyPort, id, port, path, opts);
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${proxyPort}${a.path}`, { headers: a.headers });
    ws.on("open", () => ws.send(message));
    ws.on("message", (data) => {
      resolve({ status: 101, headers: {}, body: String(data) });
      ws.close();
    });
    ws.on("unexpected-response", (_req, res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    ws.on("error", reject);
  });
}

/** Starts a `base` container labelled for `nodeId`; resolves once GET /id answers on its bridge IP. */
export async function runBaseContainer(docker: Docker, nodeId: string, sandboxId: string): Promise<{ containerId: string; ip: string }> {
  const container = await docker.createContainer({
    Image: BASE_IMAGE,
    Env: [`CORRAL_SANDBOX_ID=${sandboxId}`],
    Labels: { [SANDBOX_LABEL]: sandboxId, [NODE_LABEL]: nodeId },
  });
  await container.start();
  const info = await container.inspect();
  const ip = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress;
  if (!ip) throw new Error(`container ${container.id.slice(0, 12)} has no IP address`);
  await waitUntil(
    () =>
      new Promise<boolean>((resolve) => {
        http
          .get({ host: ip, port: 8080, path: "/id", agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode === 200);
          })
          .on("error", () => resolve(false));
      }),
    { timeoutMs: 15_000, what: `container ${container.id.slice(0, 12)} to serve /id` },
  );
  return { containerId: container.id, ip };
}
