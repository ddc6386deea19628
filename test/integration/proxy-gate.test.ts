// Proxy gate (issue 6): every row of the contract's table, through every
// routing form, for HTTP (a real `base` container upstream) and for a
// WebSocket (a `ws` echo server on the host). The test plays the node: it
// writes records through SandboxStore (events published) and serves resume
// with the fake node (test/helpers/fake-node.ts).
import type Docker from "dockerode";
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type ProxyHandle } from "../../actors/proxy/index.js";
import { encodeMsgpack } from "../../src/codec.js";
import { resolveConfig } from "../../src/config.js";
import { newSandboxId, type SandboxId } from "../../src/ids.js";
import type { SandboxState, StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { SANDBOX_BUCKET } from "../../src/subjects.js";
import { hashTrafficToken, newTrafficToken } from "../../src/traffic-token.js";
import { containerState, removeContainersOf, requireDocker, testNodeId } from "../helpers/docker.js";
import { startFakeNode, type FakeNode } from "../helpers/fake-node.js";
import { useStore } from "../helpers/fixture.js";
import { DOMAIN, FORMS, httpRequest, runBaseContainer, via, wsVia, type Form, type Reply, type ViaOptions } from "../helpers/proxy-client.js";
import { makeStoredSandbox, type StoredSandboxOverrides } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const nodeId = testNodeId("proxygate");
const WAIT_MS = 4_000;
const fixture = useStore({ proxyWaitMs: WAIT_MS });
let nc: NatsConnection;
let store: SandboxStore;
let rawKv: KV;
let fake: FakeNode;
let docker: Docker;
let proxy: ProxyHandle;
let container: { containerId: string; ip: string; sandboxId: SandboxId };
let wsServer: WebSocketServer;
let wsPort: number;
let echo: http.Server;
let echoPort: number;

beforeAll(async () => {
  docker = await requireDocker();
  ({ nc, store } = fixture);
  rawKv = await new Kvm(nc).open(SANDBOX_BUCKET);
  fake = await startFakeNode({ nc, nodeId, store, docker });
  const sandboxId = newSandboxId();
  container = { ...(await runBaseContainer(docker, nodeId, sandboxId)), sandboxId };
  wsServer = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((r) => wsServer.once("listening", r));
  wsPort = (wsServer.address() as AddressInfo).port;
  wsServer.on("connection", (ws) => ws.on("message", (m) => ws.send(`echo:${String(m)}`)));
  echo = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body })));
  });
  await new Promise<void>((r) => echo.listen(0, "127.0.0.1", r));
  echoPort = (echo.address() as AddressInfo).port;
  proxy = await startProxy({ nc: await fixture.nats.connect(), store, config: fixture.config, port: 0, domain: DOMAIN, host: "127.0.0.1" });
});

afterAll(async () => {
  await proxy?.close();
  await fake?.stop();
  wsServer?.close();
  echo?.close();
  const left = docker ? await removeContainersOf(docker, nodeId) : [];
  if (left.length > 0) console.info(`removed containers: ${left.join(", ")}`);
});

type Proto = "http" | "ws";

/** A record of this node whose endpoint is the container (http) or the ws echo server (ws). */
function record(proto: Proto, overrides: StoredSandboxOverrides = {}): StoredSandbox {
  const endpoint: { host: string; ports: Record<string, number> } =
    proto === "http" ? { host: container.ip, ports: {} } : { host: "127.0.0.1", ports: { "8080": wsPort } };
  return makeStoredSandbox({
    nodeId,
    ...overrides,
    internal: { handle: proto === "http" ? container.containerId : null, endpoint, secure: false, ...overrides.internal },
  });
}

async function put(r: StoredSandbox): Promise<SandboxId> {
  await store.createIfAbsent(r);
  return r.sandboxId;
}

async function setState(id: SandboxId, state: SandboxState): Promise<void> {
  await store.mutate(id, (latest) => ({ record: { ...latest, state }, event: state }));
}

const lifecycle = (autoResume: boolean) => ({ onTimeout: "pause" as const, autoResume, idle: false });

/** True when `p` has not settled after `ms` (proves a request is held, not answered). */
async function stillPending(p: Promise<unknown>, ms = 150): Promise<boolean> {
  const marker = Symbol("pending");
  return (await Promise.race([p, new Promise((r) => setTimeout(() => r(marker), ms))])) === marker;
}

function send(proto: Proto, form: Form, id: string, opts: ViaOptions = {}): Promise<Reply> {
  return proto === "http" ? via(form, proxy.port, id, 8080, "/id", opts) : wsVia(form, proxy.port, id, 8080, "/", "hello", opts);
}

const ok = (proto: Proto) => (proto === "http" ? { status: 200, body: () => container.sandboxId } : { status: 101, body: () => "echo:hello" });

function expectError(reply: Reply, status: number, message?: string): void {
  expect(reply.status).toBe(status);
  const body = JSON.parse(reply.body) as { code: number; message: string };
  expect(body.code).toBe(status);
  if (message !== undefined) expect(body.message).toBe(message);
  // Never an internal address in an error body.
  expect(reply.body).not.toContain(container.ip);
  expect(reply.body).not.toContain("127.0.0.1");
}

describe.each<Proto>(["http", "ws"])("gate over %s", (proto) => {
  describe.each(FORMS)("routing form %s", (form) => {
    it("running -> forwarded", async () => {
      const id = await put(record(proto));
      const r = await send(proto, form, id);
      expect(r).toMatchObject({ status: ok(proto).status, body: ok(proto).body() });
    });

    it("resuming -> waits for the next state (running) -> forwarded", async () => {
      const id = await put(record(proto, { state: "resuming" }));
      const pending = send(proto, form, id);
      expect(await stillPending(pending)).toBe(true);
      await setState(id, "running");
      expect(await pending).toMatchObject({ status: ok(proto).status, body: ok(proto).body() });
    });

    it("pausing -> waits for the next state (paused, no autoResume) -> 409", async () => {
      const id = await put(record(proto, { state: "pausing" }));
      const pending = send(proto, form, id);
      expect(await stillPending(pending)).toBe(true);
      await setState(id, "paused");
      expectError(await pending, 409, "sandbox is paused");
    });

    it("paused + autoResume -> resumed once, then forwarded", async () => {
      if (proto === "http") await docker.getContainer(container.containerId).pause();
      const id = await put(record(proto, { state: "paused", endAt: null, lifecycle: lifecycle(true) }));
      const r = await send(proto, form, id);
      expect(r).toMatchObject({ status: ok(proto).status, body: ok(proto).body() });
      expect(fake.transitions.get(id)).toBe(1);
      expect((await store.get(id))?.state).toBe("running");
      if (proto === "http") expect(await containerState(docker, container.containerId)).toBe("running");
    });

    it("paused without autoResume -> 409", async () => {
      const id = await put(record(proto, { state: "paused", endAt: null, lifecycle: lifecycle(false) }));
      expectError(await send(proto, form, id), 409, "sandbox is paused");
      expect(fake.requests.get(id)).toBeUndefined();
    });

    it.each<SandboxState>(["killing", "killed"])("%s -> 410", async (state) => {
      const id = await put(record(proto, { state, killReason: "request", internal: { killedAt: state === "killed" ? Date.now() : null } }));
      expectError(await send(proto, form, id), 410);
    });

    it("unknown -> 404", async () => {
      expectError(await send(proto, form, newSandboxId()), 404, "sandbox not found");
    });

    it("known only to the KV (event missed) -> asks the KV, forwarded", async () => {
      const r = record(proto);
      // A raw put publishes no event: only the KV read on a miss can find it.
      await rawKv.put(r.sandboxId, encodeMsgpack(r));
      expect(await send(proto, form, r.sandboxId)).toMatchObject({ status: ok(proto).status });
    });

    it("secure: missing or wrong token -> 403; the token in either header -> forwarded", async () => {
      const token = newTrafficToken();
      const id = await put(record(proto, { internal: { secure: true, tokenHash: hashTrafficToken(token) } }));
      expectError(await send(proto, form, id), 403);
      expectError(await send(proto, form, id, { token: newTrafficToken() }), 403);
      expect((await send(proto, form, id, { token })).status).toBe(ok(proto).status);
      expect((await send(proto, form, id, { token, tokenHeader: "e2b-traffic-access-token" })).status).toBe(ok(proto).status);
    });

    it("secure + paused + autoResume without a token -> 403 and no resume", async () => {
      const id = await put(record(proto, { state: "paused", endAt: null, lifecycle: lifecycle(true), internal: { secure: true, tokenHash: hashTrafficToken(newTrafficToken()) } }));
      expectError(await send(proto, form, id), 403);
      expect(fake.requests.get(id)).toBeUndefined();
    });

    it("resume refused for capacity -> 503 with Retry-After", async () => {
      const r = record(proto, { state: "paused", endAt: null, lifecycle: lifecycle(true), internal: { handle: null } });
      fake.refuseCapacity.add(r.sandboxId);
      await put(r);
      const reply = await send(proto, form, r.sandboxId);
      expectError(reply, 503);
      expect(Number(reply.headers["retry-after"])).toBeGreaterThan(0);
      expect((await store.get(r.sandboxId))?.state).toBe("paused");
    });

    it("paused + autoResume whose owning node does not answer -> 503 with Retry-After, record untouched", async () => {
      const r = record(proto, { state: "paused", endAt: null, lifecycle: lifecycle(true), nodeId: testNodeId("gone") });
      await put(r);
      const reply = await send(proto, form, r.sandboxId);
      expectError(reply, 503, "sandbox cannot be resumed now: its node is unavailable");
      expect(Number(reply.headers["retry-after"])).toBeGreaterThan(0);
      expect(fake.requests.get(r.sandboxId)).toBeUndefined();
      expect((await store.get(r.sandboxId))?.state).toBe("paused");
    });

    it("upstream refuses the connection -> 502", async () => {
      const closed = http.createServer();
      await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
      const deadPort = (closed.address() as AddressInfo).port;
      await new Promise((r) => closed.close(r));
      const id = await put(record(proto, { internal: { endpoint: { host: "127.0.0.1", ports: { "8080": deadPort } } } }));
      expectError(await send(proto, form, id), 502, "sandbox port 8080 refused the connection");
    });
  });
});

describe("proxy edges", () => {
  const echoRecord = () => makeStoredSandbox({ nodeId, internal: { endpoint: { host: "127.0.0.1", ports: { "3000": echoPort } }, secure: true, tokenHash: hashTrafficToken("t0ken") } });

  it("strips tokens, routing and hop-by-hop headers; sets X-Forwarded-*; streams the body; keeps the query", async () => {
    const id = await put(echoRecord());
    const reply = await httpRequest(
      proxy.port,
      `/sandboxes/${id}/3000/echo?x=1`,
      { "X-Corral-Traffic-Token": "t0ken", "X-Custom": "kept", "X-Hop": "dropped", Connection: "keep-alive, X-Hop", "Content-Type": "text/plain" },
      "POST",
      "payload",
    );
    expect(reply.status).toBe(200);
    const seen = JSON.parse(reply.body) as { method: string; url: string; headers: Record<string, string>; body: string };
    expect(seen).toMatchObject({ method: "POST", url: "/echo?x=1", body: "payload" });
    expect(seen.headers["x-custom"]).toBe("kept");
    expect(seen.headers["x-hop"]).toBeUndefined();
    expect(seen.headers["x-corral-traffic-token"]).toBeUndefined();
    expect(seen.headers["x-forwarded-for"]).toBe("127.0.0.1");
    expect(seen.headers["x-forwarded-proto"]).toBe("http");
    expect(seen.headers["x-forwarded-host"]).toBe(`127.0.0.1:${proxy.port}`);
  });

  it.each(["its broadcast", "the KV only (event missed)"])("auto-resume of a sandbox known to %s: the upstream connection is opened while the resume is in flight, the request sent once it is running", async (where) => {
    const r = echoRecord();
    const paused: StoredSandbox = { ...r, state: "paused", endAt: null, lifecycle: lifecycle(true), internal: { ...r.internal, handle: null } };
    const id = paused.sandboxId;
    // A raw put publishes no event: the replica finds the record with its KV read on the miss.
    if (where.startsWith("the KV")) await rawKv.put(id, encodeMsgpack(paused));
    else await put(paused);
    const release = fake.holdResumes();
    try {
      const accepted = new Promise((resolve, reject) => {
        echo.once("connection", resolve);
        setTimeout(() => reject(new Error("the upstream saw no connection while the resume was held")), 10_000).unref();
      });
      const reply = httpRequest(proxy.port, `/sandboxes/${id}/3000/echo`, { "X-Corral-Traffic-Token": "t0ken" });
      await accepted;
      expect(await stillPending(reply)).toBe(true);
      expect((await store.get(id))?.state).toBe("paused");
      release();
      expect((await reply).status).toBe(200);
    } finally {
      release();
    }
    expect(fake.transitions.get(id)).toBe(1);
  });

  it("answers 502 for a port the process driver did not map", async () => {
    const id = await put(echoRecord());
    const reply = await via("path", proxy.port, id, 8080, "/", { token: "t0ken" });
    expectError(reply, 502, "sandbox port 8080 is not exposed");
  });

  it("follows the latest record's endpoint (never a stale address)", async () => {
    const id = await put(makeStoredSandbox({ nodeId, internal: { endpoint: { host: container.ip, ports: { "3000": 8080 } }, secure: false } }));
    expect((await via("host", proxy.port, id, 3000, "/id")).body).toBe(container.sandboxId);
    await store.mutate(id, (l) => ({ record: { ...l, internal: { ...l.internal, endpoint: { host: "127.0.0.1", ports: { "3000": echoPort } } } }, event: "resumed" }));
    // The event, not a KV read, moves this replica (it holds the record, so it
    // never reads the KV for it): within one broadcast hop it answers from the new endpoint.
    const moved = await waitUntil(
      async () => {
        const r = await via("host", proxy.port, id, 3000, "/id");
        return r.body.startsWith("{") ? r : undefined;
      },
      { timeoutMs: 500, intervalMs: 5, what: "the replica to follow the new endpoint" },
    );
    expect(JSON.parse(moved.body)).toMatchObject({ url: "/id" });
  });

  it("bounds the wait for a transient state: 503 with Retry-After", async () => {
    const short = await startProxy({ nc, store, config: resolveConfig({ proxyWaitMs: 200 }), port: 0, domain: DOMAIN, host: "127.0.0.1" });
    try {
      const id = await put(record("http", { state: "starting", startedAt: null }));
      const started = Date.now();
      const reply = await via("path", short.port, id, 8080, "/id");
      expectError(reply, 503, "sandbox is still starting");
      expect(reply.headers["retry-after"]).toBe("1");
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await short.close();
    }
  });

  it("answers 404 to a request that names no sandbox, 404 to a malformed name, and 200 on /healthz", async () => {
    expectError(await httpRequest(proxy.port, "/"), 404);
    expectError(await httpRequest(proxy.port, "/", { host: `8080-NOPE.${DOMAIN}` }), 404, "host names an invalid sandbox id");
    const health = await httpRequest(proxy.port, "/healthz");
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" });
  });
});
