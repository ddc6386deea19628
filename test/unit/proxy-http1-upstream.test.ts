// Response framing of an upstream connection (UpstreamConnection): HEAD,
// 204 and 304 have no body whatever their headers say; 1xx interim answers
// come before the final one; chunked bodies end at their last chunk (split
// across reads); bodies without a length end when the upstream closes; a
// malformed head is a failure. The upstream is a local socket that writes
// the test's bytes; the owner records what the connection reports.
import net, { type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResponseHead } from "../../actors/proxy/http1-parser.js";
import { UpstreamConnection, type UpstreamOwner } from "../../actors/proxy/upstream-connection.js";

/** What the server writes for the next connection's request (pieces with a pause between them). */
let script: { pieces: string[]; close: boolean } = { pieces: [], close: false };
let server: net.Server;
let port: number;

beforeAll(async () => {
  server = net.createServer((socket) => {
    const { pieces, close } = script;
    socket.once("data", async () => {
      for (const p of pieces) {
        socket.write(p, "latin1");
        await new Promise((r) => setTimeout(r, 5));
      }
      if (close) socket.end();
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  server.close();
});

interface Outcome {
  interim: number[];
  status?: number;
  body: string;
  done?: boolean;
  failed?: string;
}

/** Sends one request (`method`) on a fresh connection whose server answers `pieces`; resolves once done or failed. */
function exchange(method: string, pieces: string[], close = false): Promise<Outcome> {
  script = { pieces, close };
  return new Promise((resolve) => {
    const out: Outcome = { interim: [], body: "" };
    const owner: UpstreamOwner = {
      upstreamInterim: (res: ResponseHead) => void out.interim.push(res.status),
      upstreamResponse: (res: ResponseHead, _buf: Buffer, body: Buffer | null) => {
        out.status = res.status;
        if (body !== null) out.body += body.toString("latin1");
      },
      upstreamBody: (body: Buffer) => void (out.body += body.toString("latin1")),
      upstreamDone: (_up, reusable) => {
        out.done = reusable;
        up.destroy();
        resolve(out);
      },
      upstreamSwitched: () => {},
      upstreamFailed: (_up, err) => {
        out.failed = err.message;
        resolve(out);
      },
      upstreamDrained: () => {},
      pendingWrites: () => false,
    };
    const up = new UpstreamConnection("127.0.0.1", port, owner);
    up.send(Buffer.from(`${method} / HTTP/1.1\r\nHost: x\r\n\r\n`), method === "HEAD", false, false);
  });
}

describe("UpstreamConnection response framing", () => {
  it("Content-Length, split across reads; reusable", async () => {
    expect(await exchange("GET", ["HTTP/1.1 200 OK\r\nContent-Le", "ngth: 5\r\n\r\nhe", "llo"])).toEqual({ interim: [], status: 200, body: "hello", done: true });
  });

  it("HEAD: no body despite Content-Length", async () => {
    expect(await exchange("HEAD", ["HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"])).toMatchObject({ status: 200, body: "", done: true });
  });

  it.each([204, 304])("%i: no body despite the headers", async (status) => {
    expect(await exchange("GET", [`HTTP/1.1 ${status} X\r\nContent-Length: 12\r\n\r\n`])).toMatchObject({ status, body: "", done: true });
  });

  it("1xx interim answers, then the final one", async () => {
    expect(await exchange("GET", ["HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"])).toEqual({
      interim: [100, 103],
      status: 200,
      body: "ok",
      done: true,
    });
  });

  it("chunked with a trailer, split inside the framing", async () => {
    const out = await exchange("GET", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r", "\nabc\r\n0\r\nX-T: 1", "\r\n\r\n"]);
    expect(out).toMatchObject({ status: 200, done: true });
    // The body bytes are relayed as they came, framing included.
    expect(out.body).toBe("3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
  });

  it("no length: the body ends when the upstream closes; not reusable", async () => {
    expect(await exchange("GET", ["HTTP/1.1 200 OK\r\n\r\nsome", " more"], true)).toMatchObject({ status: 200, body: "some more", done: false });
  });

  it("Connection: close or bytes after the response: not reusable", async () => {
    expect(await exchange("GET", ["HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx"])).toMatchObject({ body: "x", done: false });
    expect(await exchange("GET", ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxjunk"])).toMatchObject({ body: "x", done: false });
  });

  it.each([
    ["a bad status line", ["HTTP/1.1 2x0 OK\r\n\r\n"]],
    ["both framings", ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"]],
    ["a 101 nobody asked for", ["HTTP/1.1 101 Switching Protocols\r\n\r\n"]],
    ["bad chunk framing", ["HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"]],
  ])("%s is a failure", async (_what, pieces) => {
    expect((await exchange("GET", pieces)).failed).toMatch(/malformed upstream response/);
  });

  it("a close before the response ends is a failure", async () => {
    expect((await exchange("GET", ["HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"], true)).failed).toBeDefined();
  });
});
