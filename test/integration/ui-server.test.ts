// The UI server's HTTP surface (issue 7) without a browser: the bundle with
// its security headers, the JSON endpoints, the SSE feed, and contract errors
// for bad input. `startUi` in this process, a real nats-server and a real
// node actor (process driver) behind the actions.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startUi, type UiServer } from "../../actors/ui/server.js";
import type { ChartLayout, History, Snapshot } from "../../actors/ui/wire.js";
import { MACHINE_STATES } from "../../machines/sandbox/machine.js";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { newSandboxId } from "../../src/ids.js";
import { NodeRegistry, SandboxStore } from "../../src/store/index.js";
import { useCorral } from "../helpers/corral.js";
import { httpRequest, type Reply } from "../helpers/proxy-client.js";
import { waitUntil } from "../helpers/wait.js";

const corral = useCorral({ prefix: "uiserver", driver: "process" });
let ui: UiServer;
const TOKEN = randomBytes(24).toString("base64url");
const AUTH = { Authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  const { nc } = corral;
  const config = resolveConfig({}, {});
  const [store, registry] = await Promise.all([SandboxStore.open(nc, config), NodeRegistry.open(nc, config)]);
  ui = await startUi({ nc, store, registry, client: new CorralClient(nc), port: 0, token: TOKEN, nodeLeaseMs: config.nodeLeaseMs });
});

afterAll(async () => {
  await ui?.close();
});

/** One request to the UI server (the proxy tests' plain HTTP client serves any local port). */
const request = (method: string, path: string, body?: string, headers: Record<string, string> = {}) => httpRequest(ui.port, path, { ...AUTH, ...headers }, method, body);
const anonymous = (method: string, path: string, headers: Record<string, string> = {}, body?: string) => httpRequest(ui.port, path, headers, method, body);
const post = (path: string, body: string, headers: Record<string, string> = { "Content-Type": "application/json" }) => request("POST", path, body, headers);
const json = <T>(reply: Reply) => JSON.parse(reply.body) as T;

describe("the UI login", () => {
  it("answers 401 to every page and action without the token, and to a wrong one", async () => {
    const sbx = await corral.client.create({ timeoutMs: 60_000 });
    const paths = ["/", "/app.js", "/api/snapshot", "/api/machine", "/api/stream", `/api/sandboxes/${sbx.sandboxId}/history`];
    for (const path of paths) {
      const attempts: Record<string, string>[] = [{}, { Authorization: "Bearer wrong-token-of-some-length" }, { Authorization: `Basic ${TOKEN}` }, { Cookie: "corral_ui_session=forged" }];
      for (const headers of attempts) {
        const reply = await anonymous("GET", path, headers);
        expect([path, reply.status], JSON.stringify(headers)).toEqual([path, 401]);
        expect(JSON.parse(reply.body).error.code).toBe("unauthorized");
      }
    }
    const kill = await anonymous("POST", `/api/sandboxes/${sbx.sandboxId}/kill`, { "Content-Type": "application/json" }, "{}");
    expect(kill.status).toBe(401);
    expect((await corral.client.get(sbx.sandboxId)).state).toBe("running");
    expect((await anonymous("GET", `/?token=${TOKEN}x`)).status).toBe(401);
    // The health probe says only whether NATS is connected.
    expect((await anonymous("GET", "/healthz")).status).toBe(200);
    await corral.client.kill(sbx.sandboxId);
  });

  it("lets in Authorization: Bearer, and ?token= which sets a session cookie and drops the token from the address", async () => {
    expect((await anonymous("GET", "/api/snapshot", AUTH)).status).toBe(200);
    const login = await anonymous("GET", `/?token=${TOKEN}&x=1`);
    expect(login.status).toBe(303);
    expect(login.headers.location).toBe("/?x=1");
    const cookie = String(login.headers["set-cookie"]).split(";")[0]!;
    expect(String(login.headers["set-cookie"])).toMatch(/HttpOnly; SameSite=Strict; Path=\//);
    expect(cookie).not.toContain(TOKEN);
    expect((await anonymous("GET", "/", { Cookie: cookie })).status).toBe(200);
    expect((await anonymous("GET", "/api/snapshot", { Cookie: `other=1; ${cookie}` })).status).toBe(200);
  });
});

describe("the UI server", () => {
  it("serves the bundle with a strict content security policy, nothing else from the file system", async () => {
    const index = await request("GET", "/");
    expect(index.status).toBe(200);
    expect(index.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(index.headers["content-security-policy"]).toContain("default-src 'self'");
    expect(index.body).toContain('<script type="module" src="app.js">');
    // No reference to anything off this origin (no CDN, no font service).
    for (const file of ["/", "/app.js", "/app.css", "/favicon.svg"]) {
      const reply = await request("GET", file);
      expect(reply.status, file).toBe(200);
      expect(reply.body.match(/https?:\/\/[^\s"'`)]+/g)?.filter((u) => !u.startsWith("http://www.w3.org/")) ?? [], file).toEqual([]);
    }
    for (const path of ["/../package.json", "/%2e%2e/package.json", "/dist/ui/app.js", "/index.htm"]) {
      const reply = await request("GET", path);
      expect(reply.status, path).toBe(404);
      expect(json<{ error: { code: string } }>(reply).error.code).toBe("not_found");
    }
  });

  it("answers the machine chart, a snapshot and the health of its NATS connection", async () => {
    const chart = json<ChartLayout>(await request("GET", "/api/machine"));
    expect(chart.nodes.map((n) => n.id)).toEqual([...MACHINE_STATES]);
    const sbx = await corral.node.client.create({ timeoutMs: 60_000, metadata: { suite: "ui-server" } });
    const snapshot = json<Snapshot>(await request("GET", "/api/snapshot"));
    expect(snapshot.nats).toBe("connected");
    expect(snapshot.clusterId).toBe(corral.node.node.clusterId); // the one the node made in the KV
    expect(snapshot.nodes.map((n) => n.nodeId)).toEqual([corral.node.nodeId]);
    const listed = snapshot.sandboxes.find((r) => r.sandboxId === sbx.sandboxId);
    expect(listed).toMatchObject({ state: "running", metadata: { suite: "ui-server" } });
    // Public records only: never the internal part with the token hash and endpoint.
    expect(Object.keys(listed!)).not.toContain("internal");
    expect((await request("GET", "/healthz")).status).toBe(200);
    const history = json<History>(await request("GET", `/api/sandboxes/${sbx.sandboxId}/history`));
    expect(history.events.map((e) => e.event)).toEqual(["create", "started"]);
    expect(Object.keys(history.events[0]!.record)).not.toContain("internal");
    expect(json<History>(await request("GET", `/api/sandboxes/${newSandboxId()}/history`)).events).toEqual([]);
  });

  it("streams status, a snapshot, then every transition as Server-Sent Events", async () => {
    const sbx = await corral.node.client.create({ timeoutMs: 60_000 });
    const frames: { event: string; data: unknown }[] = [];
    const req = http.get(new URL("/api/stream", ui.url), { agent: false, headers: AUTH });
    const res = await new Promise<http.IncomingMessage>((resolve) => req.once("response", resolve));
    expect(res.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    let buffer = "";
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffer += chunk;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.+)$/m.exec(frame)?.[1];
        const data = /^data: (.+)$/m.exec(frame)?.[1];
        if (event && data) frames.push({ event, data: JSON.parse(data) });
      }
    });
    try {
      await waitUntil(() => frames.some((f) => f.event === "snapshot"), { what: "the snapshot frame" });
      expect(frames[0]).toEqual({ event: "status", data: { nats: "connected" } });
      const sent = Date.now();
      await corral.node.client.pause(sbx.sandboxId);
      const seen = await waitUntil(() => frames.find((f) => f.event === "transition" && (f.data as { to: string }).to === "paused"), { timeoutMs: 1_000, what: "the paused transition" });
      expect(seen.data).toMatchObject({ sandboxId: sbx.sandboxId, from: "pausing", to: "paused", event: "paused", record: { state: "paused" } });
      expect(Date.now() - sent).toBeLessThan(1_000);
    } finally {
      req.destroy();
    }
  });

  it("runs actions through the API and answers its records and its errors", async () => {
    const sbx = await corral.node.client.create({ timeoutMs: 60_000 });
    const set = await post(`/api/sandboxes/${sbx.sandboxId}/set_timeout`, JSON.stringify({ timeoutMs: 120_000 }));
    expect(set.status).toBe(200);
    expect(json<{ timeoutMs: number; revision: number }>(set)).toMatchObject({ timeoutMs: 120_000 });
    expect((await corral.node.client.get(sbx.sandboxId)).timeoutMs).toBe(120_000);

    const cases: [string, Reply, number, string][] = [
      ["bad number (the API's check)", await post(`/api/sandboxes/${sbx.sandboxId}/set_timeout`, JSON.stringify({ timeoutMs: -5 })), 400, "invalid_argument"],
      ["unknown field (the API's check)", await post(`/api/sandboxes/${sbx.sandboxId}/pause`, JSON.stringify({ force: true })), 400, "invalid_argument"],
      ["body not JSON", await post(`/api/sandboxes/${sbx.sandboxId}/pause`, "{nope"), 400, "invalid_argument"],
      ["body not an object", await post(`/api/sandboxes/${sbx.sandboxId}/pause`, "[1]"), 400, "invalid_argument"],
      ["no JSON content type", await post(`/api/sandboxes/${sbx.sandboxId}/kill`, "{}", { "Content-Type": "text/plain" }), 400, "invalid_argument"],
      ["cross-origin", await post(`/api/sandboxes/${sbx.sandboxId}/kill`, "{}", { "Content-Type": "application/json", Origin: "http://evil.example" }), 403, "forbidden"],
      ["bad id", await post("/api/sandboxes/ABC*/kill", "{}"), 400, "invalid_argument"],
      ["unknown action", await post(`/api/sandboxes/${sbx.sandboxId}/explode`, "{}"), 404, "not_found"],
      ["no such sandbox", await post(`/api/sandboxes/${newSandboxId()}/pause`, "{}"), 404, "not_found"],
      ["resume a running one", await post(`/api/sandboxes/${sbx.sandboxId}/resume`, "{}"), 200, ""],
    ];
    for (const [what, reply, status, code] of cases) {
      expect(reply.status, what).toBe(status);
      if (code) expect(json<{ error: { code: string; message: string } }>(reply).error.code, what).toBe(code);
    }
    expect((await corral.node.client.get(sbx.sandboxId)).state).toBe("running");

    const killed = await post(`/api/sandboxes/${sbx.sandboxId}/kill`, "{}");
    expect(json<{ state: string; killReason: string }>(killed)).toMatchObject({ state: "killed", killReason: "request" });
    const gone = await post(`/api/sandboxes/${sbx.sandboxId}/pause`, "{}");
    expect([gone.status, json<{ error: { code: string } }>(gone).error.code]).toEqual([410, "gone"]);
  });
});
