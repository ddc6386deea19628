// Header rewriting on the proxy hop (issue 6): hop-by-hop, tokens, X-Forwarded-*.
import { describe, expect, it } from "vitest";
import { pathWithoutQuery } from "../../actors/proxy/access-log.js";
import { framingHeaders, rewriteRequestHeaders, rewriteResponseHeaders, writeHead } from "../../actors/proxy/headers.js";
import { Framing, findHeadEnd, parseRequestHead, parseResponseHead } from "../../actors/proxy/http1-parser.js";

const CHUNKED = { framing: Framing.Chunked, contentLength: 0, transferEncoding: "chunked" };

const pairs = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!.toLowerCase(), flat[2 * i + 1]!]);

/** The pairs a rewrite keeps, then the appended ones. */
function rewritten(raw: string[], keep: boolean[], append: string[] = []): string[][] {
  const kept = raw.filter((_, i) => keep[i >> 1]);
  return pairs([...kept, ...append]);
}

describe("rewriteRequestHeaders", () => {
  const raw = [
    "Host", "8080-x.corral.localhost", "Connection", "keep-alive, X-Secret-Hop", "Keep-Alive", "timeout=5", "X-Secret-Hop", "1",
    "X-Corral-Traffic-Token", "tok1", "e2b-traffic-access-token", "tok2", "X-Corral-Sandbox-Id", "id", "X-Corral-Sandbox-Port", "80",
    "X-Forwarded-For", "10.0.0.1", "X-Forwarded-Proto", "https", "TE", "trailers", "Proxy-Authorization", "basic x",
    "Transfer-Encoding", "chunked", "Accept", "*/*", "Upgrade", "websocket", "Expect", "100-continue", "Host", "evil.example",
  ];

  it("drops hop-by-hop, Connection-named, token and routing headers and a second Host; rewrites framing canonically; keeps Expect; sets X-Forwarded-*", () => {
    const { keep, append } = rewriteRequestHeaders(raw, { clientIp: "127.0.0.1", proto: "http" }, false, CHUNKED);
    expect(rewritten(raw, keep, append)).toEqual([
      ["host", "8080-x.corral.localhost"],
      ["accept", "*/*"],
      ["expect", "100-continue"],
      // The body is forwarded byte for byte: its framing header goes with it, in one canonical spelling.
      ["transfer-encoding", "chunked"],
      ["x-forwarded-for", "10.0.0.1, 127.0.0.1"],
      ["x-forwarded-proto", "http"],
      ["x-forwarded-host", "8080-x.corral.localhost"],
    ]);
  });

  it("keeps the upgrade handshake for WebSockets", () => {
    const { keep, append } = rewriteRequestHeaders(raw, { clientIp: "127.0.0.1", proto: "http" }, true, CHUNKED);
    const out = rewritten(raw, keep, append);
    expect(out.slice(-2)).toEqual([["connection", "Upgrade"], ["upgrade", "websocket"]]);
    expect(out.map(([n]) => n)).not.toContain("x-corral-traffic-token");
  });
});

describe("rewriteResponseHeaders", () => {
  it("drops hop-by-hop and Connection-named headers and the framing ones (rewritten by framingHeaders)", () => {
    const raw = ["Content-Type", "text/plain", "Connection", "close, X-Hop", "X-Hop", "1", "Transfer-Encoding", "chunked", "Keep-Alive", "timeout=5", "Set-Cookie", "a=1", "Set-Cookie", "b=2"];
    expect(rewritten(raw, rewriteResponseHeaders(raw))).toEqual([["content-type", "text/plain"], ["set-cookie", "a=1"], ["set-cookie", "b=2"]]);
  });

  it("framingHeaders spells Content-Length and Transfer-Encoding one way", () => {
    const req = (text: string) => {
      const buf = Buffer.from(text, "latin1");
      return parseRequestHead(buf, 0, findHeadEnd(buf, 0));
    };
    expect(framingHeaders(req("POST / HTTP/1.1\r\nHost: h\r\ncontent-LENGTH:   007  \r\n\r\n"))).toEqual(["Content-Length", "7"]);
    expect(framingHeaders(req("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding: CHUNKED\r\n\r\n"))).toEqual(["Transfer-Encoding", "chunked"]);
    expect(framingHeaders(req("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))).toEqual([]);
    const buf = Buffer.from("HTTP/1.1 200 OK\r\nTransfer-Encoding: GZIP ,chunked\r\n\r\n", "latin1");
    expect(framingHeaders(parseResponseHead(buf, 0, findHeadEnd(buf, 0)))).toEqual(["Transfer-Encoding", "gzip, chunked"]);
  });
});

describe("writeHead", () => {
  const parse = (text: string) => {
    const buf = Buffer.from(text, "latin1");
    return { buf, req: parseRequestHead(buf, 0, findHeadEnd(buf, 0)) };
  };

  it("copies the kept lines as they came, appends, and puts the body after the empty line", () => {
    const { buf, req } = parse("GET /a HTTP/1.1\r\nHost: h\r\nX-Corral-Traffic-Token: t\r\nAccept:  */*\r\nConnection: close\r\n\r\n");
    const { keep, append } = rewriteRequestHeaders(req.raw, { clientIp: "10.0.0.9", proto: "http" }, false, req);
    expect(writeHead(buf, req, null, keep, append, false, null).toString("latin1")).toBe(
      "GET /a HTTP/1.1\r\nHost: h\r\nAccept:  */*\r\nX-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\nX-Forwarded-Host: h\r\n\r\n",
    );
    expect(writeHead(buf, req, "GET /b HTTP/1.1", [false, false, true, false], null, true, Buffer.from("xy")).toString("latin1")).toBe(
      "GET /b HTTP/1.1\r\nAccept:  */*\r\nConnection: close\r\n\r\nxy",
    );
  });

  it("handles a head without headers and a last header that is kept or dropped", () => {
    const { buf, req } = parse("GET / HTTP/1.0\r\n\r\n");
    expect(writeHead(buf, req, null, [], null, false, null).toString("latin1")).toBe("GET / HTTP/1.0\r\n\r\n");
    const two = parse("GET / HTTP/1.1\r\nA: 1\r\nHost: h\r\n\r\n");
    expect(writeHead(two.buf, two.req, null, [false, true], null, false, null).toString("latin1")).toBe("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    expect(writeHead(two.buf, two.req, null, [true, false], null, false, null).toString("latin1")).toBe("GET / HTTP/1.1\r\nA: 1\r\n\r\n");
  });
});

describe("pathWithoutQuery", () => {
  it.each([
    ["/a?token=secret", "/a"],
    ["/a#f", "/a"],
    ["/a", "/a"],
    ["/a?x#y", "/a"],
  ])("%s -> %s", (url, path) => expect(pathWithoutQuery(url)).toBe(path));
});
