// `corral proxy` in its own process (issue 6): the command's output and clean
// stop, --workers, a 100 MB upload and a 100 MB download streamed through it
// with its RSS growing less than 50 MB, and an access log that names the
// sandbox, port, status, duration and bytes but never a token or a query.
//
// The sandbox's endpoint is a small node HTTP server on the host that this
// test writes into the record (the test plays the node, as in
// proxy-gate.test.ts): it can count and hash an upload and pause its reading,
// which busybox httpd in the base image cannot, and pausing is what proves
// backpressure (a proxy that buffered would grow by what arrives meanwhile).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SandboxId } from "../../src/ids.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { hashTrafficToken, newTrafficToken } from "../../src/traffic-token.js";
import { testNodeId } from "../helpers/docker.js";
import { useStore } from "../helpers/fixture.js";
import { CORRAL_BIN } from "../helpers/node.js";
import { DOMAIN, httpRequest, via } from "../helpers/proxy-client.js";
import { peakRss, rssOf, spawnCorralProxy, type CorralProxyProcess } from "../helpers/proxy-process.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const MB = 1024 * 1024;
const SIZE = 100 * MB;
const WARMUP = 20 * MB;
/** The bound on the proxy's memory growth during the transfers. */
const MAX_RSS_GROWTH = 50 * MB;
/** How long each side stops reading mid-transfer (what a buffering proxy would have to hold). */
const STALL_MS = 400;

const fixture = useStore();
let store: SandboxStore;
let upstream: http.Server;
let upstreamPort: number;
/** Called when the upstream receives GET /slow (the test stops the proxy then). */
let slowArrived: () => void = () => {};

/** Spawns `corral proxy` on this test's NATS (see test/helpers/proxy-process.ts). */
const spawnProxy = (extra: string[] = []): Promise<CorralProxyProcess> => spawnCorralProxy(fixture.nats.url, extra);

/** `size` bytes of a repeating pattern, generated 64 KB at a time (the test holds no 100 MB buffer either). */
function pattern(size: number): Readable {
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  let left = size;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}

function sha256Of(size: number): string {
  const h = createHash("sha256");
  const chunk = Buffer.alloc(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31) & 0xff;
  for (let left = size; left > 0; left -= chunk.length) h.update(left >= chunk.length ? chunk : chunk.subarray(0, left));
  return h.digest("hex");
}

/** Reads a stream to its end, hashing it, pausing once for STALL_MS at the halfway mark. */
function consume(stream: Readable, total: number): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    let bytes = 0;
    let stalled = false;
    stream.on("data", (c: Buffer) => {
      h.update(c);
      bytes += c.length;
      if (!stalled && bytes >= total / 2) {
        stalled = true;
        stream.pause();
        setTimeout(() => stream.resume(), STALL_MS);
      }
    });
    stream.on("end", () => resolve({ bytes, sha256: h.digest("hex") }));
    stream.on("error", reject);
  });
}

beforeAll(async () => {
  ({ store } = fixture);
  // The sandbox's port: POST /upload hashes what it receives; GET /download?bytes=N streams N bytes.
  upstream = http.createServer((req, res) => {
    if (req.method === "POST") {
      void consume(req, Number(req.headers["content-length"] ?? SIZE)).then((r) => res.end(JSON.stringify(r)));
      return;
    }
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/slow") {
      slowArrived();
      setTimeout(() => res.end("slow ok"), Number(url.searchParams.get("ms") ?? 0));
      return;
    }
    const bytes = Number(url.searchParams.get("bytes") ?? 0);
    res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": bytes });
    pattern(bytes).pipe(res);
  });
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  upstreamPort = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  upstream?.close();
});

async function putSandbox(token: string): Promise<SandboxId> {
  const record = makeStoredSandbox({ nodeId: testNodeId("proxyproc"), internal: { endpoint: { host: "127.0.0.1", ports: { "8080": upstreamPort } }, secure: true, tokenHash: hashTrafficToken(token) } });
  await store.createIfAbsent(record);
  return record.sandboxId;
}

/** A raw request through the proxy (host form) whose response is handed over unread. */
function open(port: number, id: string, token: string, method: string, path: string, body?: Readable, length?: number): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { host: `8080-${id}.${DOMAIN}:${port}`, "X-Corral-Traffic-Token": token };
    if (length !== undefined) headers["Content-Length"] = length;
    const req = http.request({ host: "127.0.0.1", port, method, path, headers, agent: false }, resolve);
    req.on("error", reject);
    if (body) body.pipe(req);
    else req.end();
  });
}

describe("corral proxy in its own process", () => {
  it("streams a 100 MB upload and a 100 MB download with RSS growth under 50 MB; logs access without secrets", async () => {
    const proxy = await spawnProxy();
    try {
      const token = newTrafficToken();
      const id = await putSandbox(token);
      const pid = proxy.child.pid!;
      // Warm up with a smaller transfer each way, then take the baseline: the
      // first megabytes grow V8's young generation and node's buffer pools to
      // their working size once, whatever the body size; what must not happen
      // is growth with the size of the body (buffering).
      expect(await consume(await open(proxy.port, id, token, "GET", `/download?bytes=${WARMUP}`), WARMUP)).toMatchObject({ bytes: WARMUP });
      for await (const _ of await open(proxy.port, id, token, "POST", "/upload", pattern(WARMUP), WARMUP));
      const baseline = rssOf(pid);

      const download = await peakRss(pid, async () => {
        const res = await open(proxy.port, id, token, "GET", `/download?bytes=${SIZE}&secret=q-s3cret`);
        expect(res.statusCode).toBe(200);
        return consume(res, SIZE);
      });
      expect(download.result).toEqual({ bytes: SIZE, sha256: sha256Of(SIZE) });

      const upload = await peakRss(pid, async () => {
        const res = await open(proxy.port, id, token, "POST", "/upload", pattern(SIZE), SIZE);
        let text = "";
        for await (const c of res) text += String(c);
        return { status: res.statusCode, body: JSON.parse(text) as unknown };
      });
      expect(upload.result).toEqual({ status: 200, body: { bytes: SIZE, sha256: sha256Of(SIZE) } });

      const growth = Math.max(download.peak, upload.peak) - baseline;
      console.info(`proxy RSS: baseline ${(baseline / MB).toFixed(1)} MB, peak growth download ${((download.peak - baseline) / MB).toFixed(1)} MB, upload ${((upload.peak - baseline) / MB).toFixed(1)} MB`);
      expect(growth).toBeLessThan(MAX_RSS_GROWTH);
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
    // The access log is flushed on stop: one line per request with the contract's fields.
    const lines = proxy
      .stderr()
      .split("\n")
      .filter((l) => l.includes('"msg":"access"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const big = lines.find((l) => l.method === "GET" && l.path === "/download" && (l.bytes as number) > SIZE);
    expect(big).toMatchObject({ sandboxId: expect.any(String), port: 8080, status: 200, durationMs: expect.any(Number) });
    expect(lines.filter((l) => l.method === "POST" && l.path === "/upload" && l.status === 200)).toHaveLength(2);
    expect(proxy.stderr()).not.toContain("q-s3cret");
    expect(proxy.stderr()).not.toMatch(/traffic-token|trafficToken/i);
  });

  it("never logs a traffic token, valid or not", async () => {
    const proxy = await spawnProxy();
    const token = newTrafficToken();
    const wrong = newTrafficToken();
    const id = await putSandbox(token);
    try {
      expect((await via("path", proxy.port, id, 8080, "/download?bytes=3", { token })).status).toBe(200);
      expect((await via("e2b-headers", proxy.port, id, 8080, "/download?bytes=3", { token: wrong, tokenHeader: "e2b-traffic-access-token" })).status).toBe(403);
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
    expect(proxy.stderr()).toContain('"status":403');
    expect(proxy.stderr()).not.toContain(token);
    expect(proxy.stderr()).not.toContain(wrong);
  });

  it("lets a request in flight finish on SIGTERM, then exits 0", async () => {
    const proxy = await spawnProxy();
    const token = newTrafficToken();
    const id = await putSandbox(token);
    const arrived = new Promise<void>((resolve) => (slowArrived = resolve));
    const pending = via("host", proxy.port, id, 8080, "/slow?ms=300", { token });
    await arrived;
    const exited = proxy.stop();
    expect(await pending).toMatchObject({ status: 200, body: "slow ok" });
    expect(await exited).toBe(0);
  });

  it("--workers 2 serves from two processes on one port and stops cleanly", async () => {
    const proxy = await spawnProxy(["--workers", "2"]);
    try {
      expect(JSON.parse(proxy.stdout().trim())).toMatchObject({ port: proxy.port, workers: 2, domain: DOMAIN });
      expect((await httpRequest(proxy.port, "/healthz")).status).toBe(200);
      const token = newTrafficToken();
      const id = await putSandbox(token);
      // A record written after start reaches both workers (each is a replica with its own subscription).
      const replies = await Promise.all(Array.from({ length: 20 }, () => via("host", proxy.port, id, 8080, "/download?bytes=5", { token })));
      expect(replies.map((r) => r.status)).toEqual(Array<number>(20).fill(200));
    } finally {
      expect(await proxy.stop()).toBe(0);
    }
  });

  it("refuses bad arguments with invalid_argument, and waits for an unreachable NATS (logging it) instead of exiting", async () => {
    const run = (args: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [CORRAL_BIN, "proxy", "--json", ...args], { stdio: ["ignore", "pipe", "ignore"] });
        let out = "";
        child.stdout.on("data", (c: Buffer) => (out += c.toString()));
        child.once("exit", (code) => resolve({ code, out }));
      });
    for (const args of [["--port", "70000"], ["--domain", "bad..domain"], ["--workers", "0"], ["extra"], ["--nats-url", "http://127.0.0.1:1"]]) {
      const r = await run(args);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.out)).toMatchObject({ error: { code: "invalid_argument" } });
    }
    // DESIGN.md, "Cluster": a process started before its NATS waits for it.
    const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOG_LEVEL: "info" };
    delete env.VITEST; // a real server's logger, not a test's silenced one
    const down = spawn(process.execPath, [CORRAL_BIN, "proxy", "--port", "0", "--nats-url", "nats://127.0.0.1:1,nats://127.0.0.1:2"], { stdio: ["ignore", "ignore", "pipe"], env });
    let log = "";
    down.stderr.on("data", (c: Buffer) => (log += c.toString()));
    const exited = new Promise<void>((resolve) => down.once("exit", () => resolve()));
    try {
      await waitUntil(() => /"msg":"waiting for NATS"/.test(log) && /"attempt":2/.test(log), { timeoutMs: 20_000, what: "the proxy to wait for NATS" });
      expect(down.exitCode).toBeNull();
    } finally {
      down.kill("SIGTERM");
    }
    await exited;
  });
});
