// Header rewriting on the proxy hop (issue 6): hop-by-hop, tokens, X-Forwarded-*.
import { describe, expect, it } from "vitest";
import { pathWithoutQuery } from "../../actors/proxy/access-log.js";
import { clientResponseHeaders, serializeHead, upstreamRequestHeaders } from "../../actors/proxy/headers.js";

const pairs = (flat: string[]) => Array.from({ length: flat.length / 2 }, (_, i) => [flat[2 * i]!.toLowerCase(), flat[2 * i + 1]!]);

describe("upstreamRequestHeaders", () => {
  const raw = [
    "Host", "8080-x.corral.localhost", "Connection", "keep-alive, X-Secret-Hop", "Keep-Alive", "timeout=5", "X-Secret-Hop", "1",
    "X-Corral-Traffic-Token", "tok1", "e2b-traffic-access-token", "tok2", "X-Corral-Sandbox-Id", "id", "X-Corral-Sandbox-Port", "80",
    "X-Forwarded-For", "10.0.0.1", "X-Forwarded-Proto", "https", "TE", "trailers", "Proxy-Authorization", "basic x",
    "Transfer-Encoding", "chunked", "Accept", "*/*", "Upgrade", "websocket", "Expect", "100-continue", "Host", "evil.example",
  ];

  it("drops hop-by-hop, Connection-named, token and routing headers and a second Host; keeps framing and Expect; sets X-Forwarded-*", () => {
    const out = pairs(upstreamRequestHeaders(raw, { clientIp: "127.0.0.1", proto: "http" }, false));
    expect(out).toEqual([
      ["host", "8080-x.corral.localhost"],
      // The body is forwarded byte for byte: its framing header goes with it.
      ["transfer-encoding", "chunked"],
      ["accept", "*/*"],
      ["expect", "100-continue"],
      ["x-forwarded-for", "10.0.0.1, 127.0.0.1"],
      ["x-forwarded-proto", "http"],
      ["x-forwarded-host", "8080-x.corral.localhost"],
    ]);
  });

  it("keeps the upgrade handshake for WebSockets", () => {
    const out = pairs(upstreamRequestHeaders(raw, { clientIp: "127.0.0.1", proto: "http" }, true));
    expect(out.slice(-2)).toEqual([["connection", "Upgrade"], ["upgrade", "websocket"]]);
    expect(out.map(([n]) => n)).not.toContain("x-corral-traffic-token");
  });
});

describe("clientResponseHeaders", () => {
  it("drops hop-by-hop and Connection-named headers; keeps the body framing (forwarded as is)", () => {
    const out = pairs(clientResponseHeaders(["Content-Type", "text/plain", "Connection", "close, X-Hop", "X-Hop", "1", "Transfer-Encoding", "chunked", "Keep-Alive", "timeout=5", "Set-Cookie", "a=1", "Set-Cookie", "b=2"]));
    expect(out).toEqual([["content-type", "text/plain"], ["transfer-encoding", "chunked"], ["set-cookie", "a=1"], ["set-cookie", "b=2"]]);
  });
});

describe("serializeHead", () => {
  it("writes the start line, the headers in order and the empty line; Connection: close on request", () => {
    expect(serializeHead("HTTP/1.1 200 OK", ["A", "1", "b", "2"], false)).toBe("HTTP/1.1 200 OK\r\nA: 1\r\nb: 2\r\n\r\n");
    expect(serializeHead("GET / HTTP/1.1", [], true)).toBe("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
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
