/**
 * Header rewriting for the proxy hop (RFC 9110 section 7.6.1): hop-by-hop
 * headers and everything named in `Connection` are dropped; traffic tokens and
 * routing headers never reach the sandbox; `X-Forwarded-For/Proto/Host` are
 * set. Works on flat raw header arrays (`[name, value, ...]`) as the parser
 * (`http1-parser.ts`) produces them.
 *
 * Bodies are forwarded byte for byte, so the framing headers
 * (`Content-Length`, `Transfer-Encoding`) are kept both ways: the parser has
 * already refused any ambiguous combination. `Expect` is kept too: the
 * sandbox answers `100-continue` and the proxy relays it.
 */

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

/**
 * The upstream request's headers from the client's raw headers.
 *
 * @param upgrade keep `Connection: upgrade` + `Upgrade` (WebSocket handshakes)
 */
export function upstreamRequestHeaders(raw: string[], fwd: ForwardedFor, upgrade: boolean): string[] {
  const extra = namedByConnection(raw);
  const out: string[] = [];
  let priorFor: string | undefined;
  let host: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (lower === "x-forwarded-for") {
      priorFor = priorFor === undefined ? raw[i + 1]! : `${priorFor}, ${raw[i + 1]!}`;
      continue;
    }
    if (lower === "host") {
      // One Host only (a second would be a smuggling vector, and the upstream client refuses it).
      if (host !== undefined) continue;
      host = raw[i + 1]!;
    }
    if (HOP_BY_HOP.has(lower) || REQUEST_ONLY.has(lower) || extra?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  out.push("X-Forwarded-For", priorFor === undefined ? fwd.clientIp : `${priorFor}, ${fwd.clientIp}`);
  out.push("X-Forwarded-Proto", fwd.proto);
  if (host !== undefined) out.push("X-Forwarded-Host", host);
  if (upgrade) out.push("Connection", "Upgrade", "Upgrade", upgradeValue(raw));
  return out;
}

function upgradeValue(raw: string[]): string {
  for (let i = 0; i < raw.length; i += 2) if (raw[i]!.toLowerCase() === "upgrade") return raw[i + 1]!;
  return "websocket";
}

/** The client response's headers from the upstream's raw headers. */
export function clientResponseHeaders(raw: string[]): string[] {
  const extra = namedByConnection(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || extra?.has(lower)) continue;
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/**
 * A message head: `startLine` (without CRLF), the flat `headers`, then
 * `Connection: close` when `close`, and the empty line. Latin1 text: its
 * length is its byte length.
 */
export function serializeHead(startLine: string, headers: string[], close: boolean): string {
  let s = `${startLine}\r\n`;
  for (let i = 0; i < headers.length; i += 2) s += `${headers[i]!}: ${headers[i + 1]!}\r\n`;
  return close ? `${s}Connection: close\r\n\r\n` : `${s}\r\n`;
}
