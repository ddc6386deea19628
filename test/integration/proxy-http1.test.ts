// The proxy's raw HTTP/1.1 data plane through a real replica: pipelined
// requests on one connection, a chunked upload, Connection: close, HTTP/1.0,
// a malformed request (400, and the next connection still works), an
// upstream that closes a kept-alive socket (the request is replayed on a
// fresh one), Expect: 100-continue, HEAD/204 and close-delimited responses.
// Raw sockets on the client side, so that the bytes on the wire are the test's.
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startProxy, type ProxyHandle } from "../../actors/proxy/index.js";
import { newSandboxId, type SandboxId } from "../../src/ids.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { testNodeId } from "../helpers/docker.js";
import { useStore } from "../helpers/fixture.js";
import { DOMAIN } from "../helpers/proxy-client.js";
import { makeStoredSandbox } from "../helpers/records.js";

const fixture = useStore();
let store: SandboxStore;
let proxy: ProxyHandle;
let echo: http.Server;
/** A raw upstream that answers the first request of each connection and closes at the second without answering. */
let flaky: net.Server;
let flakyConnections = 0;
/** A raw upstream whose response has no length: it ends when the upstream closes. */
let closing: net.Server;
let id: SandboxId;

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
}

beforeAll(async () => {
  ({ store } = fixture);
  echo = http.createServer((req, res) => {
    if (req.url === "/empty") {
      res.writeHead(204);
      return void res.end();
    }
    if (req.url === "/chunked") {
      res.writeHead(200, { "Content-Type": "text/plain" });
      res.write("part1,");
      setTimeout(() => res.end("part2"), 10);
      return;
    }
    let body = "";
    req.setEncoding("latin1");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const text = JSON.stringify({ method: req.method, url: req.url, version: req.httpVersion, headers: req.headers, body });
      res.writeHead(200, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
      res.end(req.method === "HEAD" ? undefined : text);
    });
  });
  // Node's keep-alive timeout would close idle sockets between tests; not what is tested here.
  echo.keepAliveTimeout = 60_000;
  flaky = net.createServer((socket) => {
    flakyConnections++;
    let requests = 0;
    socket.on("data", () => {
      if (++requests === 1) socket.write("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
      else socket.destroy();
    });
    socket.on("error", () => {});
  });
  closing = net.createServer((socket) => {
    socket.once("data", () => socket.end("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil close"));
    socket.on("error", () => {});
  });
  const [echoPort, flakyPort, closingPort] = await Promise.all([listen(echo), listen(flaky), listen(closing)]);
  const record = makeStoredSandbox({
    nodeId: testNodeId("proxyh1"),
    internal: { endpoint: { host: "127.0.0.1", ports: { "3000": echoPort, "3001": flakyPort, "3002": closingPort } }, secure: false },
  });
  await store.createIfAbsent(record);
  id = record.sandboxId;
  proxy = await startProxy({ nc: await fixture.nats.connect(), store, config: fixture.config, port: 0, domain: DOMAIN, host: "127.0.0.1", accessLog: false });
});

afterAll(async () => {
  await proxy?.close();
  echo?.close();
  flaky?.close();
  closing?.close();
});

const host = (port = 3000) => `${port}-${id}.${DOMAIN}`;

/** Writes `pieces` (with a short pause between them) on one raw connection; resolves with everything read until the proxy closes it. */
function raw(pieces: string[], pauseMs = 20): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(proxy.port, "127.0.0.1");
    let out = "";
    socket.setEncoding("latin1");
    socket.on("data", (c: string) => (out += c));
    socket.on("end", () => resolve(out));
    socket.on("error", reject);
    socket.setTimeout(5_000, () => reject(new Error(`no close; read so far:\n${out}`)));
    void (async () => {
      for (const p of pieces) {
        socket.write(p, "latin1");
        await new Promise((r) => setTimeout(r, pauseMs));
      }
    })();
  });
}

/** The responses in a raw byte string (Content-Length or chunked framed), as status + body; `heads`: indexes of answers to HEAD. */
function responses(text: string, heads: number[] = []): { status: number; headers: string; body: string }[] {
  const out: { status: number; headers: string; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf("\r\n\r\n");
    const head = rest.slice(0, end);
    const status = Number(head.slice(9, 12));
    rest = rest.slice(end + 4);
    const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
    let body = "";
    if (heads.includes(out.length)) {
      // no body
    } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
      for (;;) {
        const lineEnd = rest.indexOf("\r\n");
        const size = parseInt(rest.slice(0, lineEnd), 16);
        rest = rest.slice(lineEnd + 2);
        if (size === 0) {
          rest = rest.slice(rest.indexOf("\r\n") + 2);
          break;
        }
        body += rest.slice(0, size);
        rest = rest.slice(size + 2);
      }
    } else if (cl) {
      body = rest.slice(0, Number(cl[1]));
      rest = rest.slice(Number(cl[1]));
    } else if (status !== 204 && status !== 304 && status >= 200) {
      body = rest;
      rest = "";
    }
    out.push({ status, headers: head, body });
  }
  return out;
}

describe("proxy HTTP/1.1 data plane", () => {
  it("answers pipelined requests in order on one connection, then closes on Connection: close", async () => {
    const text = await raw([
      `GET /a HTTP/1.1\r\nHost: ${host()}\r\n\r\n` +
        `POST /b HTTP/1.1\r\nHost: ${host()}\r\nContent-Length: 3\r\n\r\nxyz` +
        `GET /c HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`,
    ]);
    const rs = responses(text);
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(rs.map((r) => (JSON.parse(r.body) as { url: string }).url)).toEqual(["/a", "/b", "/c"]);
    expect(JSON.parse(rs[1]!.body)).toMatchObject({ method: "POST", body: "xyz" });
    expect(rs[2]!.headers).toMatch(/\r\nConnection: close/i);
    expect(rs[0]!.headers).not.toMatch(/\r\nConnection:/i);
  });

  it("forwards a chunked upload as chunked (split across writes, with an extension and a trailer)", async () => {
    const text = await raw([
      `POST /up HTTP/1.1\r\nHost: ${host()}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5;ext=1\r\nhel`,
      "lo\r\n6\r\n world\r",
      "\n0\r\nX-Trailer: t\r\n\r\n",
    ]);
    const [r] = responses(text);
    expect(r!.status).toBe(200);
    expect(JSON.parse(r!.body)).toMatchObject({ method: "POST", body: "hello world", headers: { "transfer-encoding": "chunked" } });
  });

  it("relays a chunked response as is", async () => {
    const [r] = responses(await raw([`GET /chunked HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`]));
    expect(r!.headers).toMatch(/\r\nTransfer-Encoding: chunked/i);
    expect(r!.body).toBe("part1,part2");
  });

  it("HTTP/1.0: forwarded as HTTP/1.0 and the connection closes after the response", async () => {
    const text = await raw([`GET /sandboxes/${id}/3000/old HTTP/1.0\r\n\r\n`]);
    const [r] = responses(text);
    expect(r!.status).toBe(200);
    expect(JSON.parse(r!.body)).toMatchObject({ url: "/old", version: "1.0" });
    expect(r!.headers).toMatch(/\r\nConnection: close/i);
  });

  it("HEAD and 204 answers have no body; the connection goes on", async () => {
    const text = await raw([`HEAD /h HTTP/1.1\r\nHost: ${host()}\r\n\r\n`, `GET /empty HTTP/1.1\r\nHost: ${host()}\r\n\r\n`, `GET /z HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`]);
    const rs = responses(text, [0]);
    expect(rs.map((r) => r.status)).toEqual([200, 204, 200]);
    expect(rs[0]!.headers).toMatch(/\r\nContent-Length: [1-9]/i);
    expect(JSON.parse(rs[2]!.body)).toMatchObject({ url: "/z" });
  });

  it("a close-delimited response ends the client connection after it", async () => {
    const [r] = responses(await raw([`GET / HTTP/1.1\r\nHost: ${host(3002)}\r\n\r\n`]));
    expect(r).toMatchObject({ status: 200, body: "until close" });
    expect(r!.headers).toMatch(/\r\nConnection: close/i);
  });

  it.each([
    ["Content-Length and Transfer-Encoding", `POST / HTTP/1.1\r\nHost: H\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
    ["a bad chunk size", `POST / HTTP/1.1\r\nHost: H\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`],
    ["obs-fold", `GET / HTTP/1.1\r\nHost: H\r\nX: a\r\n b\r\n\r\n`],
    ["two Hosts", `GET / HTTP/1.1\r\nHost: H\r\nHost: H\r\n\r\n`],
  ])("a malformed request (%s) gets 400 and a close; the next connection works", async (_what, text) => {
    const [r] = responses(await raw([text.replaceAll("Host: H", `Host: ${host()}`)]));
    expect(r!.status).toBe(400);
    expect(JSON.parse(r!.body)).toMatchObject({ code: 400 });
    const [next] = responses(await raw([`GET /after HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`]));
    expect(next!.status).toBe(200);
  });

  it("an answer decided off the fast path (unknown sandbox: 404 after a KV read) keeps the connection usable", async () => {
    const rs = responses(
      await raw([
        `GET / HTTP/1.1\r\nHost: 3000-${newSandboxId()}.${DOMAIN}\r\n\r\n`,
        `HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n`,
        `GET /ok HTTP/1.1\r\nHost: ${host()}\r\nConnection: close\r\n\r\n`,
      ]),
      [1],
    );
    expect(rs.map((r) => r.status)).toEqual([404, 200, 200]);
    expect(JSON.parse(rs[2]!.body)).toMatchObject({ url: "/ok" });
  });

  it("a head larger than 64 KiB gets 431", async () => {
    const [r] = responses(await raw([`GET / HTTP/1.1\r\nHost: ${host()}\r\nX-Big: ${"a".repeat(70_000)}\r\n\r\n`]));
    expect(r!.status).toBe(431);
  });

  it("replays a body-less request once when the upstream closes a kept-alive socket instead of answering", async () => {
    const before = flakyConnections;
    const rs = responses(await raw([`GET /1 HTTP/1.1\r\nHost: ${host(3001)}\r\n\r\n`, `GET /2 HTTP/1.1\r\nHost: ${host(3001)}\r\nConnection: close\r\n\r\n`]));
    expect(rs.map((r) => [r.status, r.body])).toEqual([
      [200, "first"],
      [200, "first"],
    ]);
    expect(flakyConnections - before).toBe(2);
  });

  it("a request with a body is not replayed: 502 naming the sandbox port only", async () => {
    const rs = responses(
      await raw([`GET /1 HTTP/1.1\r\nHost: ${host(3001)}\r\n\r\n`, `POST /2 HTTP/1.1\r\nHost: ${host(3001)}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx`]),
    );
    expect(rs.map((r) => r.status)).toEqual([200, 502]);
    expect(JSON.parse(rs[1]!.body)).toEqual({ code: 502, message: "sandbox port 3001 failed: ECONNRESET" });
  });

  it("Expect: 100-continue: the sandbox's 100 is relayed, then the body and the answer", async () => {
    const result = await new Promise<{ continued: boolean; status: number; body: string }>((resolve, reject) => {
      let continued = false;
      const req = http.request(
        { host: "127.0.0.1", port: proxy.port, method: "PUT", path: "/expect", agent: false, headers: { host: host(), Expect: "100-continue", "Content-Length": 4 } },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => (body += c));
          res.on("end", () => resolve({ continued, status: res.statusCode ?? 0, body }));
        },
      );
      req.on("continue", () => {
        continued = true;
        req.end("data");
      });
      req.on("error", reject);
    });
    expect(result.continued).toBe(true);
    expect(result.status).toBe(200);
    expect(JSON.parse(result.body)).toMatchObject({ method: "PUT", body: "data", headers: { expect: "100-continue" } });
  });
});
