/**
 * HTTP/1.1 message heads (RFC 9112), parsed strictly: framing facts only.
 * The proxy forwards bytes as they came, so everything that decides where a
 * message ends is checked here and anything ambiguous is refused (request
 * smuggling: two parsers that disagree about a boundary). Heads are parsed
 * from one latin1 string with indexOf; nothing is decoded beyond that.
 *
 * The rules are llhttp's strict mode (what `node:http` accepts), or
 * stricter; `test/unit/proxy-differential.test.ts` checks that against
 * `node:http` and lists every case where Corral is stricter, with a reason.
 * Refused requests (`HttpParseError`, answered 400 or 431 and the connection
 * closed): a method llhttp does not know (or CONNECT); a target with a byte
 * outside 0x21-0x7E, or not origin-form, absolute-form or `*`; a version
 * other than HTTP/1.0 or 1.1; a bare CR or LF, a control character other than
 * HTAB anywhere in the head, or an obs-fold line; a header name that is not a
 * token (or has space before the colon); both Content-Length and
 * Transfer-Encoding; a Transfer-Encoding other than exactly `chunked`; a
 * non-digit or repeated Content-Length (even an identical one); more than one
 * Host (or none in HTTP/1.1).
 */
import { METHODS, type IncomingHttpHeaders } from "node:http";

/** Largest request or response head (start line + headers). */
export const MAX_HEAD_BYTES = 64 * 1024;

/** A message the proxy refuses to parse; `status` is what the client is answered. */
export class HttpParseError extends Error {
  constructor(
    readonly status: 400 | 431 | 502,
    message: string,
  ) {
    super(message);
    this.name = "HttpParseError";
  }
}

/** Body framing of a message (`UntilClose`: until the sender closes; responses only). */
export const Framing = { None: 0, Length: 1, Chunked: 2, UntilClose: 3 } as const;
export type Framing = (typeof Framing)[keyof typeof Framing];

interface HeadCommon {
  /** Minor version: 0 (HTTP/1.0) or 1. */
  minor: number;
  /** Header names and values in order, flat: `[name, value, ...]` (values trimmed). */
  raw: string[];
  /** Offset of each header line in the head (one per pair of `raw`). */
  lines: number[];
  /** Offset of the CRLF that ends the start line. */
  startLineEnd: number;
  /** Offset of the `\r\n\r\n` that ends the head. */
  headEnd: number;
  framing: Framing;
  /** Content-Length when `framing` is `Length`. */
  contentLength: number;
  /** The Transfer-Encoding codings, lower case, `", "`-separated ("" without one): what is forwarded. */
  transferEncoding: string;
  /** The sender will close after this message (HTTP/1.0 without keep-alive, or `Connection: close`). */
  close: boolean;
  /** `Connection: upgrade` and an `Upgrade` header. */
  upgrade: boolean;
}

/** A parsed request head. */
export interface RequestHead extends HeadCommon {
  method: string;
  /** The request target as sent. */
  url: string;
  host: string | undefined;
  /** The traffic token, from `X-Corral-Traffic-Token` or `e2b-traffic-access-token`. */
  token: string | undefined;
  /** Only the routing headers (`resolveTarget`'s header forms), when any was sent. */
  routing: IncomingHttpHeaders | undefined;
}

/** A parsed response head. */
export interface ResponseHead extends HeadCommon {
  status: number;
  /** The status line without its version: `" 200 OK"`. */
  statusRest: string;
}

/** Index of the `\r\n\r\n` that ends a head in `buf` (searching from `from`), or -1. */
export function findHeadEnd(buf: Buffer, from: number): number {
  return buf.indexOf("\r\n\r\n", from < 0 ? 0 : from, "latin1");
}

/**
 * Where the head at the start of `buf` ends (index of its `\r\n\r\n`), or -1
 * while it is incomplete; `from` is where the previous call stopped (bytes
 * before it were scanned). A head over `MAX_HEAD_BYTES` is refused (431 for a
 * request, 502 for a response), and so is an incomplete one with a bare LF
 * (a head that could never end with CRLFs is refused at once, not held).
 *
 * @throws HttpParseError
 */
export function scanHead(buf: Buffer, from: number, isRequest: boolean): number {
  const end = findHeadEnd(buf, from - 3);
  if (end !== -1 && end + 4 <= MAX_HEAD_BYTES) return end;
  if (end !== -1 || buf.length > MAX_HEAD_BYTES) {
    if (isRequest) throw new HttpParseError(431, "request head too large");
    throw new HttpParseError(502, "malformed upstream response: head too large");
  }
  let i = buf.indexOf(10, from < 1 ? 0 : from);
  while (i !== -1) {
    if (i === 0 || buf[i - 1] !== 13) {
      if (isRequest) throw new HttpParseError(400, "bare LF in the head");
      throw new HttpParseError(502, "malformed upstream response: bare LF in the head");
    }
    i = buf.indexOf(10, i + 1);
  }
  return -1;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Methods llhttp parses as HTTP (node's list), except CONNECT: an authority-form target names no sandbox. */
const KNOWN_METHODS = new Set(METHODS.filter((m) => m !== "CONNECT"));
/** A control character other than HTAB (CR and LF are checked as line breaks). */
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;
/** Target bytes llhttp accepts: visible ASCII. */
const TARGET = /^[\x21-\x7e]+$/;
/** Absolute-form (`scheme://authority[/...]`, RFC 3986 authority characters), as llhttp reads a target that does not start with `/`. */
const ABSOLUTE_FORM = /^[A-Za-z]+:\/\/[A-Za-z0-9\-._~%!$&'()*+,;=:@[\]]*([/?#]|$)/;
const EMPTY_ROUTING: IncomingHttpHeaders = Object.freeze({}) as IncomingHttpHeaders;

function bad(message: string): never {
  throw new HttpParseError(400, message);
}

function trimOws(s: string, from: number): string {
  let start = from;
  let end = s.length;
  while (start < end && (s.charCodeAt(start) === 32 || s.charCodeAt(start) === 9)) start++;
  while (end > start && (s.charCodeAt(end - 1) === 32 || s.charCodeAt(end - 1) === 9)) end--;
  return s.slice(start, end);
}

/** Content-Length value: 1 to 15 digits (no sign, no list). */
function parseLength(v: string, fail: (m: string) => never): number {
  if (v.length === 0 || v.length > 15) fail("invalid Content-Length");
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) fail("invalid Content-Length");
    n = n * 10 + c;
  }
  return n;
}

/** Whether a comma list contains `token` (lower case) as a whole element, case-insensitively. */
export function hasToken(list: string, token: string): boolean {
  const lower = list.toLowerCase();
  let i = lower.indexOf(token);
  while (i !== -1) {
    let b = i - 1;
    while (b >= 0 && (lower.charCodeAt(b) === 32 || lower.charCodeAt(b) === 9)) b--;
    let a = i + token.length;
    while (a < lower.length && (lower.charCodeAt(a) === 32 || lower.charCodeAt(a) === 9)) a++;
    if ((b < 0 || lower.charCodeAt(b) === 44) && (a >= lower.length || lower.charCodeAt(a) === 44)) return true;
    i = lower.indexOf(token, i + 1);
  }
  return false;
}

/** Whether the whitespace that ends the line ending at `end` has a tab (llhttp allows only spaces after a framing value). */
function trailingTab(head: string, end: number): boolean {
  for (let i = end - 1; ; i--) {
    const c = head.charCodeAt(i);
    if (c === 9) return true;
    if (c !== 32) return false;
  }
}

/**
 * The header section of `head` (lines after the start line, which ends at
 * `lineEnd`), with the framing facts. `fail` throws (400 for requests, 502
 * for responses).
 */
function parseHeaders(head: string, lineEnd: number, target: HeadCommon, isRequest: boolean, req: RequestHead | undefined, fail: (m: string) => never): void {
  const raw = target.raw;
  const lines = target.lines;
  let contentLength = -1;
  let te: string | undefined;
  let connection: string | undefined;
  let hasUpgrade = false;
  let hosts = 0;
  let pos = lineEnd + 2;
  while (pos < head.length) {
    let end = head.indexOf("\r\n", pos);
    if (end === -1) end = head.length;
    const c0 = head.charCodeAt(pos);
    if (c0 === 32 || c0 === 9) fail("obsolete line folding");
    const colon = head.indexOf(":", pos);
    if (colon === -1 || colon >= end) fail("header line without a colon");
    const name = head.slice(pos, colon);
    if (!TOKEN.test(name)) fail("invalid header name");
    const value = trimOws(head.slice(colon + 1, end), 0);
    raw.push(name, value);
    lines.push(pos);
    const lower = name.length <= 24 ? name.toLowerCase() : "";
    switch (lower) {
      case "content-length": {
        if (trailingTab(head, end)) fail("invalid Content-Length");
        const n = parseLength(value, fail);
        if (contentLength !== -1) fail("repeated Content-Length header");
        contentLength = n;
        break;
      }
      case "transfer-encoding":
        if (te !== undefined) fail("several Transfer-Encoding headers");
        if (trailingTab(head, end)) fail("invalid Transfer-Encoding");
        te = value;
        break;
      case "connection":
        connection = connection === undefined ? value : `${connection}, ${value}`;
        break;
      case "upgrade":
        hasUpgrade = true;
        break;
      case "host":
        if (req !== undefined) req.host = value;
        hosts++;
        break;
      case "x-corral-traffic-token":
      case "e2b-traffic-access-token":
        if (req !== undefined && req.token === undefined) req.token = value;
        break;
      case "e2b-sandbox-id":
      case "e2b-sandbox-port":
      case "x-corral-sandbox-id":
      case "x-corral-sandbox-port":
        if (req !== undefined) {
          if (req.routing === undefined) req.routing = {};
          if (req.routing[lower] === undefined) req.routing[lower] = value;
        }
        break;
    }
    pos = end + 2;
  }
  if (isRequest) {
    if (hosts > 1) fail("more than one Host header");
    if (hosts === 0 && target.minor === 1) fail("missing Host header");
  }
  if (te !== undefined) {
    if (contentLength !== -1) fail("both Content-Length and Transfer-Encoding");
    const lowerTe = te.toLowerCase();
    target.transferEncoding = lowerTe === "chunked" ? "chunked" : lowerTe.split(",").map((c) => c.trim()).join(", ");
    if (lowerTe === "chunked") target.framing = Framing.Chunked;
    else if (isRequest) fail("unsupported Transfer-Encoding");
    // A response: chunked must be the last coding; without it the body ends at close (RFC 9112 6.3).
    else if (/,[ \t]*chunked$/.test(lowerTe)) target.framing = Framing.Chunked;
    else if (hasToken(lowerTe, "chunked")) fail("chunked before another coding");
    else target.framing = Framing.UntilClose;
  } else if (contentLength !== -1) {
    target.framing = Framing.Length;
    target.contentLength = contentLength;
  } else target.framing = isRequest ? Framing.None : Framing.UntilClose;
  if (connection !== undefined) {
    // HTTP/1.0 always closes after one message (no keep-alive across this proxy).
    if (hasToken(connection, "close")) target.close = true;
    target.upgrade = hasUpgrade && hasToken(connection, "upgrade");
  }
}

/** Checks the whole head for bytes that must not appear in one: a control character, a CR or LF outside a CRLF. */
function checkLineBreaks(head: string, fail: (m: string) => never): void {
  let i = head.indexOf("\r");
  while (i !== -1) {
    if (head.charCodeAt(i + 1) !== 10) fail("bare CR in the head");
    i = head.indexOf("\r", i + 2);
  }
  i = head.indexOf("\n");
  while (i !== -1) {
    if (head.charCodeAt(i - 1) !== 13) fail("bare LF in the head");
    i = head.indexOf("\n", i + 1);
  }
  if (CONTROL.test(head)) fail("control character in the head");
}

function parseVersion(s: string, at: number): number {
  // "HTTP/1.1" or "HTTP/1.0" exactly.
  if (s.startsWith("HTTP/1.", at) && at + 8 === s.length) {
    const m = s.charCodeAt(at + 7);
    if (m === 49) return 1;
    if (m === 48) return 0;
  }
  return -1;
}

/**
 * Parses a request head: `buf[start, end)` (`start` is 0 when the head is
 * to be rewritten with `writeHead`) where `end` is the index of the
 * final `\r\n\r\n` (as `findHeadEnd` returns).
 *
 * @throws HttpParseError (400) on anything malformed or ambiguous
 */
export function parseRequestHead(buf: Buffer, start: number, end: number): RequestHead {
  const head = buf.toString("latin1", start, end);
  checkLineBreaks(head, bad);
  let lineEnd = head.indexOf("\r\n");
  if (lineEnd === -1) lineEnd = head.length;
  const sp1 = head.indexOf(" ");
  const sp2 = sp1 === -1 ? -1 : head.indexOf(" ", sp1 + 1);
  if (sp1 <= 0 || sp2 === -1 || sp2 >= lineEnd || sp2 === sp1 + 1) bad("malformed request line");
  const method = head.slice(0, sp1);
  if (!KNOWN_METHODS.has(method)) bad(method === "CONNECT" ? "CONNECT is not proxied" : "unknown method");
  const minor = parseVersion(head.slice(0, lineEnd), sp2 + 1);
  if (minor === -1) bad("unsupported HTTP version");
  const url = head.slice(sp1 + 1, sp2);
  if (!TARGET.test(url)) bad("invalid character in the request target");
  if (url.charCodeAt(0) !== 47 && url !== "*" && !ABSOLUTE_FORM.test(url)) bad("malformed request target");
  const req: RequestHead = {
    method,
    url,
    minor,
    raw: [],
    lines: [],
    startLineEnd: lineEnd,
    headEnd: end - start,
    framing: Framing.None,
    contentLength: 0,
    transferEncoding: "",
    close: minor === 0,
    upgrade: false,
    host: undefined,
    token: undefined,
    routing: undefined,
  };
  parseHeaders(head, lineEnd, req, true, req, bad);
  return req;
}

/** The routing headers of `req` as `resolveTarget` reads them. */
export function routingHeaders(req: RequestHead): IncomingHttpHeaders {
  return req.routing ?? EMPTY_ROUTING;
}

function badResponse(message: string): never {
  throw new HttpParseError(502, `malformed upstream response: ${message}`);
}

/**
 * Parses a response head (see `parseRequestHead`).
 *
 * @throws HttpParseError (502) on a malformed head
 */
export function parseResponseHead(buf: Buffer, start: number, end: number): ResponseHead {
  const head = buf.toString("latin1", start, end);
  checkLineBreaks(head, badResponse);
  let lineEnd = head.indexOf("\r\n");
  if (lineEnd === -1) lineEnd = head.length;
  const minor = parseVersion(head.slice(0, 8), 0);
  if (minor === -1 || head.charCodeAt(8) !== 32) badResponse("bad status line");
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const c = head.charCodeAt(i) - 48;
    if (c < 0 || c > 9) badResponse("bad status code");
    status = status * 10 + c;
  }
  if (status < 100 || (lineEnd > 12 && head.charCodeAt(12) !== 32)) badResponse("bad status code");
  const res: ResponseHead = {
    status,
    statusRest: head.slice(8, lineEnd),
    minor,
    raw: [],
    lines: [],
    startLineEnd: lineEnd,
    headEnd: end - start,
    framing: Framing.None,
    contentLength: 0,
    transferEncoding: "",
    close: minor === 0,
    upgrade: false,
  };
  parseHeaders(head, lineEnd, res, false, undefined, badResponse);
  return res;
}
