// Proxy limits (issue 16, DESIGN.md "Proxy limits"), each with a short
// timeout, against `corral proxy` in its own process (flags as an operator
// passes them; its RSS read from /proc; its access log on stderr):
// - a slowloris head and a trickling body are answered 408 and closed;
// - a sandbox that accepts TCP but never answers HTTP (a real `base`
//   container of a real node, frozen with `docker pause` behind Corral's
//   back) is answered 504;
// - a client that pipelines requests and never reads makes the proxy stop
//   reading (its RSS stays bounded), for the proxy's own answers and for
//   forwarded ones, and gets every answer once it reads;
// - idle keep-alive connections close after the idle timeout announced in
//   `Keep-Alive: timeout=`; a half-closed client gets every answer; a bare-LF
//   head is refused at once; a response head over 64 KiB is a 502;
// - past --max-connections, a connection is answered 503 (a replica in this process);
// - every one of those answers has an access-log line.
import type Docker from "dockerode";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ProxyHandle } from "../../actors/proxy/index.js";
import { resolveConfig } from "../../src/config.js";
import type { SandboxId } from "../../src/ids.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { useCorral } from "../helpers/corral.js";
import { requireDocker, testNodeId } from "../helpers/docker.js";
import { DOMAIN } from "../helpers/proxy-client.js";
import { peakRss, rssOf, spawnCorralProxy, type CorralProxyProcess } from "../helpers/proxy-process.js";
import { makeStoredSandbox } from "../helpers/records.js";
import { waitUntil } from "../helpers/wait.js";

const MB = 1024 * 1024;
const HEADER_MS = 500;
const BODY_MS = 500;
const UPSTREAM_MS = 1_000;
const IDLE_MS = 3_000;
/** Slack for the replica's sweep (a quarter of the shortest timeout) and a loaded machine. */
const SLACK_MS = 2_000;
/** What the proxy may grow by while a client that never reads sends 24 MB of requests (it took 570 MB before). */
const MAX_RSS_GROWTH = 40 * MB;

/** The node, and the replica in this process whose connection cap is 2. */
const corral = useCorral({ prefix: "proxylim", proxy: { accessLog: false, limits: { maxConnections: 2 } } });
let docker: Docker;
let store: SandboxStore;
let proxy: CorralProxyProcess;
let capped: ProxyHandle;
let echo: http.Server;
let bigHead: net.Server;
/** The real sandbox (base template, behind the real node). */
let real: { id: string; token: string };
/** A record the test writes (it plays a node), pointing at servers on the host. */
let local: SandboxId;

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as AddressInfo).port)));
}

beforeAll(async () => {
  docker = await requireDocker();
  capped = corral.proxy;
  const created = await corral.client.create({ timeoutMs: 300_000 });
  real = { id: created.sandboxId, token: created.trafficToken! };
  store = await SandboxStore.open(corral.nc, resolveConfig({}, {}));
  echo = http.createServer((req, res) => {
    let body = "";
    req.setEncoding("latin1");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      if (req.url?.startsWith("/big")) return void res.end("x".repeat(16 * 1024));
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  echo.keepAliveTimeout = 60_000;
  bigHead = net.createServer((socket) => {
    socket.once("data", () => socket.end(`HTTP/1.1 200 OK\r\nX-Big: ${"a".repeat(70 * 1024)}\r\nContent-Length: 0\r\n\r\n`));
    socket.on("error", () => {});
  });
  const [echoPort, bigHeadPort] = await Promise.all([listen(echo), listen(bigHead)]);
  const record = makeStoredSandbox({
    nodeId: testNodeId("proxylimfake"),
    internal: { endpoint: { host: "127.0.0.1", ports: { "3000": echoPort, "3001": bigHeadPort } }, secure: false },
  });
  await store.createIfAbsent(record);
  local = record.sandboxId;
  proxy = await spawnCorralProxy(corral.nats.url, [
    ...["--header-timeout-ms", String(HEADER_MS), "--body-timeout-ms", String(BODY_MS), "--upstream-timeout-ms", String(UPSTREAM_MS)],
    ...["--idle-timeout-ms", String(IDLE_MS), "--max-connections", "1000"],
  ]);
});

afterAll(async () => {
  await proxy?.stop();
  echo?.close();
  bigHead?.close();
});

const localHost = (port = 3000) => `${port}-${local}.${DOMAIN}`;

/** A raw client connection to the spawned proxy that collects what it reads. */
function connect(port = proxy.port): Promise<{ socket: net.Socket; text: () => string; ended: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let out = "";
    socket.setEncoding("latin1");
    socket.on("data", (c: string) => (out += c));
    const ended = new Promise<number>((r) => socket.on("close", () => r(performance.now())));
    socket.on("error", () => {});
    socket.once("connect", () => resolve({ socket, text: () => out, ended }));
    socket.once("error", reject);
  });
}

/** Status codes of the responses in `text`, in order. */
function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
}

/** The proxy's access-log lines so far. */
function accessLines(): { status: number; path: string; sandboxId: string | null }[] {
  return proxy
    .stderr()
    .split("\n")
    .filter((l) => l.includes('"msg":"access"'))
    .map((l) => JSON.parse(l) as { status: number; path: string; sandboxId: string | null });
}

describe("timeouts", () => {
  it("a head that trickles in (slowloris) is answered 408 after --header-timeout-ms and closed", async () => {
    const c = await connect();
    const start = performance.now();
    c.socket.write(`GET /slow HTTP/1.1\r\nHost: ${localHost()}\r\n`);
    // One header byte every 100 ms: always something arriving, never a complete head.
    const drip = setInterval(() => c.socket.writable && c.socket.write("X"), 100);
    const closedAt = await c.ended;
    clearInterval(drip);
    expect(statuses(c.text())).toEqual([408]);
    expect(c.text()).toContain("Connection: close");
    expect(closedAt - start).toBeGreaterThanOrEqual(HEADER_MS - 50);
    expect(closedAt - start).toBeLessThan(HEADER_MS + SLACK_MS);
  });

  it("a body that stops arriving is answered 408 after --body-timeout-ms and closed", async () => {
    const c = await connect();
    const start = performance.now();
    c.socket.write(`POST /upload HTTP/1.1\r\nHost: ${localHost()}\r\nContent-Length: 100\r\n\r\n0123456789`);
    const closedAt = await c.ended;
    expect(statuses(c.text())).toEqual([408]);
    expect(closedAt - start).toBeGreaterThanOrEqual(BODY_MS - 50);
    expect(closedAt - start).toBeLessThan(BODY_MS + SLACK_MS);
  });

  it("a real sandbox frozen behind Corral's back (TCP accepted, HTTP never answered) is answered 504 after --upstream-timeout-ms", async () => {
    const [info] = await docker.listContainers({ all: true, filters: { label: [`corral.sandbox-id=${real.id}`] } });
    const container = docker.getContainer(info!.Id);
    const get = async () => {
      const c = await connect();
      const start = performance.now();
      c.socket.write(`GET /id HTTP/1.1\r\nHost: 8080-${real.id}.${DOMAIN}\r\nX-Corral-Traffic-Token: ${real.token}\r\nConnection: close\r\n\r\n`);
      const closedAt = await c.ended;
      return { text: c.text(), ms: closedAt - start };
    };
    // Running: answered.
    expect((await get()).text).toContain(real.id);
    await container.pause();
    try {
      const frozen = await get();
      expect(statuses(frozen.text)).toEqual([504]);
      expect(frozen.text).toContain("sandbox port 8080 did not answer in time");
      expect(frozen.ms).toBeGreaterThanOrEqual(UPSTREAM_MS - 50);
      expect(frozen.ms).toBeLessThan(UPSTREAM_MS + SLACK_MS);
    } finally {
      await container.unpause();
    }
    expect((await get()).text).toContain(real.id);
  });

  it("an idle keep-alive connection is closed after --idle-timeout-ms, announced in Keep-Alive: timeout=", async () => {
    const c = await connect();
    c.socket.write(`GET /a HTTP/1.1\r\nHost: ${localHost()}\r\n\r\n`);
    await waitUntil(() => c.text().includes("/a"), { what: "the response" });
    const answeredAt = performance.now();
    expect(c.text()).toContain(`Keep-Alive: timeout=${Math.floor(IDLE_MS / 1000)}\r\n`);
    const closedAt = await c.ended;
    expect(closedAt - answeredAt).toBeGreaterThanOrEqual(IDLE_MS - 100);
    expect(closedAt - answeredAt).toBeLessThan(IDLE_MS + SLACK_MS);
  });
});

describe("framing", () => {
  it("a half-closed client gets the answer to every complete request it sent", async () => {
    const c = await connect();
    c.socket.end(`GET /first HTTP/1.1\r\nHost: ${localHost()}\r\n\r\nPOST /second HTTP/1.1\r\nHost: ${localHost()}\r\nContent-Length: 2\r\n\r\nhi`);
    await c.ended;
    expect(statuses(c.text())).toEqual([200, 200]);
    expect(c.text()).toContain('"url":"/first"');
    expect(c.text()).toContain('"url":"/second"');
  });

  it("a bare-LF head is refused at once, not held until a timeout", async () => {
    const c = await connect();
    const start = performance.now();
    c.socket.write(`GET / HTTP/1.1\nHost: ${localHost()}\n\n`);
    const closedAt = await c.ended;
    expect(statuses(c.text())).toEqual([400]);
    expect(closedAt - start).toBeLessThan(HEADER_MS);
  });

  it("framing headers are rewritten canonically for the sandbox", async () => {
    const c = await connect();
    c.socket.end(`POST /canon HTTP/1.1\r\nHost: ${localHost()}\r\ncontent-LENGTH:  003\r\n\r\nabcPOST /canon2 HTTP/1.1\r\nHost: ${localHost()}\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nxyz\r\n0\r\n\r\n`);
    await c.ended;
    const bodies = [...c.text().matchAll(/\{.*?"body":"[^"]*"\}/g)].map((m) => JSON.parse(m[0]) as { headers: Record<string, string>; body: string });
    expect(bodies.map((b) => [b.headers["content-length"], b.headers["transfer-encoding"], b.body])).toEqual([
      ["3", undefined, "abc"],
      [undefined, "chunked", "xyz"],
    ]);
  });

  it("a response head over 64 KiB is a 502, like a request head over it is a 431", async () => {
    const up = await connect();
    up.socket.write(`GET / HTTP/1.1\r\nHost: ${localHost(3001)}\r\nConnection: close\r\n\r\n`);
    await up.ended;
    expect(statuses(up.text())).toEqual([502]);
    const down = await connect();
    down.socket.write(`GET / HTTP/1.1\r\nHost: ${localHost()}\r\nX-Big: ${"a".repeat(70 * 1024)}\r\n\r\n`);
    await down.ended;
    expect(statuses(down.text())).toEqual([431]);
  });
});

describe("backpressure", () => {
  /**
   * Writes pipelined `request`s on a connection that never reads until 24 MB
   * were sent or the proxy stopped taking them for 500 ms; resolves with the
   * bytes it took. (The whole stall stays well under the idle timeout, after
   * which a client that takes none of its answers is cut.)
   */
  async function sendWithoutReading(c: { socket: net.Socket }, request: string): Promise<number> {
    c.socket.pause();
    const batch = Buffer.from(request.repeat(Math.ceil((64 * 1024) / request.length)), "latin1");
    let sent = 0;
    while (sent < 24 * MB) {
      sent += batch.length;
      if (!c.socket.write(batch)) {
        const drained = await Promise.race([new Promise((r) => c.socket.once("drain", () => r(true))), new Promise((r) => setTimeout(() => r(false), 500))]);
        if (!drained) break;
      }
    }
    return sent;
  }

  /** Counts the answers with `status` on `socket` as they arrive (without keeping them). */
  function countAnswers(socket: net.Socket, status: number): () => number {
    const marker = `HTTP/1.1 ${status} `;
    let count = 0;
    let carry = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => {
      const text = carry + chunk;
      for (let i = text.indexOf(marker); i !== -1; i = text.indexOf(marker, i + marker.length)) count++;
      // Keep a tail shorter than the marker: a marker split across reads is counted once.
      carry = text.slice(Math.max(text.length - marker.length + 1, text.lastIndexOf(marker) + marker.length, 0));
    });
    return () => count;
  }

  it.each([
    ["its own answers (404s)", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 404],
    // Padded, so that 24 MB of requests are not a hundred thousand 16 KB answers to read back.
    ["forwarded answers (16 KB each, one pinned upstream socket)", `GET /big HTTP/1.1\r\nHost: 3000-LOCAL.${DOMAIN}\r\nX-Pad: ${"p".repeat(4000)}\r\n\r\n`, 200],
  ])("a client that never reads makes the proxy stop reading: %s; RSS bounded; every answer comes once it reads", async (_what, template, status) => {
    const request = template.replace("LOCAL", local);
    const pid = proxy.child.pid!;
    const socket = net.connect(proxy.port, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    const answered = countAnswers(socket, status);
    const baseline = rssOf(pid);
    const { result: sent, peak } = await peakRss(pid, () => sendWithoutReading({ socket }, request));
    // The proxy stopped taking requests long before 24 MB (each is answered with more bytes than it has).
    expect(sent).toBeLessThan(24 * MB);
    expect(peak - baseline).toBeLessThan(MAX_RSS_GROWTH);
    // Reading again: every request sent is answered, in order, on the same connection.
    socket.resume();
    const requests = sent / request.length;
    await waitUntil(() => answered() === requests, { timeoutMs: 60_000, intervalMs: 100, what: `${requests} answers once the client reads` }).catch((err: Error) => {
      throw new Error(`${err.message} (got ${answered()})`);
    });
    socket.destroy();
  });

  it("a client that takes none of its answers for --idle-timeout-ms is cut", async () => {
    const request = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    const c = await connect();
    const sent = await sendWithoutReading(c, request);
    // Not reading is the behaviour under test: nothing to await but the time itself.
    await new Promise((r) => setTimeout(r, IDLE_MS + SLACK_MS));
    c.socket.resume();
    // Cut: the connection ends (a reset may even drop what the kernel held) before all answers came.
    const cut = await Promise.race([c.ended.then(() => true), new Promise((r) => setTimeout(() => r(false), 10_000))]);
    expect(cut).toBe(true);
    expect(statuses(c.text()).length).toBeLessThan(sent / request.length);
  });
});

describe("connection cap", () => {
  it("past --max-connections a connection is answered 503 and closed; under it again, served", async () => {
    const held = [await connect(capped.port), await connect(capped.port)];
    const third = await connect(capped.port);
    await third.ended;
    expect(statuses(third.text())).toEqual([503]);
    expect(third.text()).toContain('"message":"too many connections to this proxy"');
    held[0]!.socket.destroy();
    await held[0]!.ended;
    await waitUntil(
      async () => {
        const c = await connect(capped.port);
        c.socket.end("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        await c.ended;
        return statuses(c.text())[0] === 200;
      },
      { what: "a connection under the cap to be served" },
    );
    held[1]!.socket.destroy();
  });
});

describe("access log", () => {
  it("has a line for every refused request (408, 400, 431, 504, 502) as for answered ones", async () => {
    await waitUntil(() => new Set(accessLines().map((l) => l.status)).size >= 6, { timeoutMs: 5_000, what: "the access log to be flushed" });
    const byStatus = new Map<number, number>();
    for (const l of accessLines()) byStatus.set(l.status, (byStatus.get(l.status) ?? 0) + 1);
    for (const s of [408, 400, 431, 504, 502, 200, 404]) expect(byStatus.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    const timedOut = accessLines().filter((l) => l.status === 408);
    expect(timedOut, JSON.stringify(timedOut)).toHaveLength(2);
    // The 504 names the sandbox it was for.
    expect(accessLines().find((l) => l.status === 504)?.sandboxId).toBe(real.id);
  });
});
