/**
 * Header rewriting for the proxy hop (RFC 9110 section 7.6.1): hop-by-hop
 * headers and everything named in `Connection` are dropped; traffic tokens and
 * routing headers never reach the sandbox; `X-Forwarded-For/Proto/Host` are
 * set. Works on flat raw header arrays (`[name, value, ...]`) as the parser
 * (`http1-parser.ts`) produces them.
 *
 * Bodies are forwarded byte for byte, and their framing headers are
 * rewritten canonically both ways (`framingHeaders`): the parser has refused
 * any ambiguous combination, and the next hop sees exactly one
 * `Content-Length: <digits>` or `Transfer-Encoding: <codings>` line, however
 * the sender spelled it. `Expect` is kept: the sandbox answers
 * `100-continue` and the proxy relays it.
 */
import { Framing } from "./http1-parser.js";

/** Dropped in both directions. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"]);

/** Never forwarded upstream: the tokens (secrets), the proxy's own routing and forwarding headers. */
const REQUEST_ONLY = new Set([
  "x-corral-traffic-token",
  "e2b-traffic-access-token",
  "e2b-sandbox-id",
  "e2b-sandbox-port",
  "x-corral-sandbox-id",
  "x-corral-sandbox-port",
  "x-forwarded-for",
  "x-forwarded-proto",
  "x-forwarded-host",
]);

/** Rewritten canonically (`framingHeaders`) instead of copied. */
const FRAMING = new Set(["content-length", "transfer-encoding"]);

/** The framing facts of a parsed head. */
export interface FramingFacts {
  framing: Framing;
  contentLength: number;
  transferEncoding: string;
}

/** The canonical framing header pair of a head (`[name, value]`, or none). */
export function framingHeaders(head: FramingFacts): string[] {
  if (head.transferEncoding !== "") return ["Transfer-Encoding", head.transferEncoding];
  if (head.framing === Framing.Length) return ["Content-Length", String(head.contentLength)];
  return [];
}

/** Lower-cased tokens of a `Connection` header value (besides close/keep-alive/upgrade, which are dropped anyway). */
function connectionTokens(value: string): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (const raw of value.split(",")) {
    const t = raw.trim().toLowerCase();
    if (t.length > 0 && !HOP_BY_HOP.has(t)) (out ??= new Set()).add(t);
  }
  return out;
}

function namedByConnection(raw: string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") {
      const tokens = connectionTokens(raw[i + 1]!);
      if (tokens) for (const t of tokens) (out ??= new Set()).add(t);
    }
  }
  return out;
}

/** Facts about the client hop that the upstream is told in `X-Forwarded-*`. */
export interface ForwardedFor {
  /** The client's address (appended to any `X-Forwarded-For` it sent). */
  readonly clientIp: string;
  readonly proto: "http" | "https";
}

/** A head with the header-line offsets the parser recorded. */
interface ParsedHead {
  raw: string[];
  lines: number[];
  startLineEnd: number;
  headEnd: number;
}

/**
 * Which client headers go upstream (`keep[i]` for the pair `raw[2i]`,
 * `raw[2i+1]`) and the header pairs appended after them.
 *
 * @param upgrade keep `Connection: upgrade` + `Upgrade` (WebSocket handshakes)
 */
export function rewriteRequestHeaders(raw: string[], fwd: ForwardedFor, upgrade: boolean, framing: FramingFacts): { keep: boolean[]; append: string[] } {
  const extra = namedByConnection(raw);
  const keep = new Array<boolean>(raw.length >> 1);
  let priorFor: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    let ok = true;
    if (lower === "x-forwarded-for") {
      priorFor = priorFor === undefined ? raw[i + 1]! : `${priorFor}, ${raw[i + 1]!}`;
      ok = false;
    } else if (lower === "host") {
      // One Host only (a second would be a smuggling vector; the parser refuses it anyway).
      if (host !== undefined) ok = false;
      else host = raw[i + 1]!;
    } else if (HOP_BY_HOP.has(lower) || REQUEST_ONLY.has(lower) || FRAMING.has(lower) || extra?.has(lower)) ok = false;
    keep[i >> 1] = ok;
  }
  const append = framingHeaders(framing);
  append.push("X-Forwarded-For", priorFor === undefined ? fwd.clientIp : `${priorFor}, ${fwd.clientIp}`, "X-Forwarded-Proto", fwd.proto);
  if (host !== undefined) append.push("X-Forwarded-Host", host);
  if (upgrade) append.push("Connection", "Upgrade", "Upgrade", upgradeValue(raw));
  return { keep, append };
}

function upgradeValue(raw: string[]): string {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "upgrade") return raw[i + 1]!;
  return "websocket";
}

/**
 * Which upstream response headers reach the client (`keep[i]` for the pair
 * `raw[2i]`); the framing headers are not among them (append `framingHeaders`).
 */
export function rewriteResponseHeaders(raw: string[]): boolean[] {
  const extra = namedByConnection(raw);
  const keep = new Array<boolean>(raw.length >> 1);
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    keep[i >> 1] = !(HOP_BY_HOP.has(lower) || FRAMING.has(lower) || extra?.has(lower));
  }
  return keep;
}

/** Where header line `i` starts (`lines.length`: the end of the last line, after its CRLF). */
function lineStart(head: ParsedHead, i: number): number {
  return i < head.lines.length ? head.lines[i]! : head.headEnd + 2;
}

/**
 * Writes a head into one Buffer by copying the kept header lines from `buf`
 * as they came (runs of lines in one copy), then `append` pairs,
 * `Connection: close` when `close`, the empty line, and `body` after it.
 *
 * @param buf the bytes `head` was parsed from (the head starts at 0)
 * @param startLine the start line (without CRLF), or null to copy the original one
 */
export function writeHead(buf: Buffer, head: ParsedHead, startLine: string | null, keep: boolean[], append: string[] | null, close: boolean, body: Buffer | null): Buffer {
  const lines = head.lines;
  const n = lines.length;
  let tail = "";
  if (append !== null) for (let i = 0; i < append.length; i += 2) tail += `${append[i]!}: ${append[i + 1]!}\r\n`;
  tail += close ? "Connection: close\r\n\r\n" : "\r\n";
  // Size: start line, kept lines, tail, body.
  let size = (startLine === null ? head.startLineEnd : startLine.length) + 2 + tail.length + (body === null ? 0 : body.length);
  for (let i = 0; i < n; i++) if (keep[i]) size += lineStart(head, i + 1) - lines[i]!;
  const out = Buffer.allocUnsafe(size);
  let at: number;
  if (startLine === null) at = buf.copy(out, 0, 0, head.startLineEnd + 2);
  else {
    at = out.write(startLine, 0, "latin1");
    out[at++] = 13;
    out[at++] = 10;
  }
  for (let i = 0; i < n; ) {
    if (!keep[i]) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < n && keep[j]) j++;
    at += buf.copy(out, at, lines[i]!, lineStart(head, j));
    i = j;
  }
  at += out.write(tail, at, "latin1");
  if (body !== null) body.copy(out, at);
  return out;
}
