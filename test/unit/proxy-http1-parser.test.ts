// The proxy's HTTP/1.1 head parser: framing facts and every request-smuggling
// refusal (a request two parsers could split differently is answered 400).
import { describe, expect, it } from "vitest";
import { Framing, HttpParseError, findHeadEnd, hasToken, parseRequestHead, parseResponseHead, type RequestHead, type ResponseHead } from "../../actors/proxy/http1-parser.js";

function request(text: string): RequestHead {
  const buf = Buffer.from(text, "latin1");
  const end = findHeadEnd(buf, 0);
  if (end === -1) throw new Error("no head end");
  return parseRequestHead(buf, 0, end);
}

function response(text: string): ResponseHead {
  const buf = Buffer.from(text, "latin1");
  return parseResponseHead(buf, 0, findHeadEnd(buf, 0));
}

function refusal(text: string): { status: number; message: string } {
  try {
    request(text);
  } catch (err) {
    expect(err).toBeInstanceOf(HttpParseError);
    return { status: (err as HttpParseError).status, message: (err as Error).message };
  }
  throw new Error(`accepted: ${JSON.stringify(text)}`);
}

describe("parseRequestHead", () => {
  it("parses the request line, headers in order, host, token and routing headers", () => {
    const r = request("POST /a?b=1 HTTP/1.1\r\nHost: x.example\r\nX-Corral-Traffic-Token:  tok \r\nE2b-Sandbox-Id: abc\r\nAccept: */*\r\nContent-Length: 5\r\n\r\nhello");
    expect(r).toMatchObject({ method: "POST", url: "/a?b=1", minor: 1, host: "x.example", token: "tok", framing: Framing.Length, contentLength: 5, close: false, upgrade: false });
    expect(r.raw).toEqual(["Host", "x.example", "X-Corral-Traffic-Token", "tok", "E2b-Sandbox-Id", "abc", "Accept", "*/*", "Content-Length", "5"]);
    expect(r.routing).toEqual({ "e2b-sandbox-id": "abc" });
  });

  it("takes the token from e2b-traffic-access-token too; no routing headers -> undefined", () => {
    const r = request("GET / HTTP/1.1\r\nHost: h\r\ne2b-traffic-access-token: t2\r\n\r\n");
    expect(r.token).toBe("t2");
    expect(r.routing).toBeUndefined();
    expect(r.framing).toBe(Framing.None);
  });

  it("chunked requests; a repeated Content-Length is refused even when identical (as llhttp does)", () => {
    expect(request("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n").framing).toBe(Framing.Chunked);
    expect(refusal("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n")).toEqual({ status: 400, message: "repeated Content-Length header" });
  });

  it("HTTP/1.0 and Connection: close close after the response; upgrades need Connection: upgrade", () => {
    expect(request("GET / HTTP/1.0\r\n\r\n")).toMatchObject({ minor: 0, close: true, host: undefined });
    expect(request("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").close).toBe(true);
    expect(request("GET / HTTP/1.1\r\nHost: h\r\nConnection: Keep-Alive, Close\r\n\r\n").close).toBe(true);
    expect(request("GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n").upgrade).toBe(true);
    expect(request("GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n").upgrade).toBe(false);
  });

  it.each([
    ["both Content-Length and Transfer-Encoding", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["Transfer-Encoding other than chunked", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"],
    ["Transfer-Encoding identity", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: identity\r\n\r\n"],
    ["two Transfer-Encoding headers", "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["differing Content-Lengths", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"],
    ["a Content-Length list", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\n"],
    ["a signed Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n"],
    ["a hex Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x3\r\n\r\n"],
    ["an empty Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"],
    ["a space in a header name", "GET / HTTP/1.1\r\nHost: h\r\nX Y: 1\r\n\r\n"],
    ["a space before the colon", "GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 3\r\n\r\n"],
    ["a header name with a bad char", "GET / HTTP/1.1\r\nHost: h\r\nX(Y): 1\r\n\r\n"],
    ["a header line without a colon", "GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"],
    ["a bare LF", "GET / HTTP/1.1\r\nHost: h\nX: 1\r\n\r\n"],
    ["a bare CR in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"],
    ["a NUL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"],
    ["obs-fold", "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"],
    ["two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"],
    ["no Host in HTTP/1.1", "GET / HTTP/1.1\r\nX: 1\r\n\r\n"],
    ["a request line without a version", "GET /\r\nHost: h\r\n\r\n"],
    ["HTTP/2.0", "GET / HTTP/2.0\r\nHost: h\r\n\r\n"],
    ["HTTP/1.1 with trailing junk", "GET / HTTP/1.1x\r\nHost: h\r\n\r\n"],
    ["two spaces in the request line", "GET  / HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a space in the target", "GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a bad method", "G(T / HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["an unknown method", "FOO / HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["CONNECT", "CONNECT h:443 HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a control character in the target", "GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a high byte in the target", "GET /a\xff HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a target that is no path", "GET a HTTP/1.1\r\nHost: h\r\n\r\n"],
    ["a control character in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n"],
    ["a DEL in a value", "GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"],
    ["an identical repeated Content-Length", "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"],
  ])("refuses %s with 400", (_what, text) => {
    expect(refusal(text).status).toBe(400);
  });

  it("findHeadEnd finds the first empty line from an offset", () => {
    const buf = Buffer.from("GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\n\r\n", "latin1");
    expect(findHeadEnd(buf, 0)).toBe(23);
    expect(findHeadEnd(buf, 24)).toBe(41);
    expect(findHeadEnd(buf, -3)).toBe(23);
  });

  it("hasToken matches whole list members case-insensitively", () => {
    expect(hasToken("keep-alive, Upgrade", "upgrade")).toBe(true);
    expect(hasToken("x-upgrade", "upgrade")).toBe(false);
    expect(hasToken("closed", "close")).toBe(false);
    expect(hasToken("close", "close")).toBe(true);
  });
});

describe("parseResponseHead", () => {
  it("status, framing, close", () => {
    expect(response("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")).toMatchObject({ status: 200, statusRest: " 200 OK", framing: Framing.Length, contentLength: 2, close: false });
    expect(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n").framing).toBe(Framing.Chunked);
    expect(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").framing).toBe(Framing.Chunked);
    expect(response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n").framing).toBe(Framing.UntilClose);
    expect(response("HTTP/1.1 200 OK\r\nX: 1\r\n\r\n").framing).toBe(Framing.UntilClose);
    expect(response("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").close).toBe(true);
    expect(response("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n").close).toBe(true);
    expect(response("HTTP/1.1 204\r\n\r\n")).toMatchObject({ status: 204, statusRest: " 204" });
    expect(response("HTTP/1.1 100 Continue\r\n\r\n").status).toBe(100);
  });

  it.each([
    ["no version", "200 OK\r\n\r\n"],
    ["a short status", "HTTP/1.1 20 OK\r\n\r\n"],
    ["a long status", "HTTP/1.1 2000 OK\r\n\r\n"],
    ["both framings", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n"],
    ["chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n"],
    ["a bad Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n"],
  ])("refuses %s with 502", (_what, text) => {
    expect(() => response(text)).toThrow(expect.objectContaining({ status: 502 }) as Error);
  });
});
