/**
 * Which sandbox and port a request names (DESIGN.md, "Proxy"), in the
 * contract's three forms, tried in this order:
 *
 * 1. Host `<port>-<sandboxId>.<domain>`, optionally with a `:port` suffix;
 * 2. headers `E2b-Sandbox-Id` + `E2b-Sandbox-Port`, or
 *    `X-Corral-Sandbox-Id` + `X-Corral-Sandbox-Port`;
 * 3. path `/sandboxes/<sandboxId>/<port>/<rest>` (the prefix is stripped, so
 *    the sandbox sees `/<rest>` with the query string kept).
 *
 * Pure and allocation-light: it runs on every request.
 */
import type { IncomingHttpHeaders } from "node:http";
import { isSandboxId, type SandboxId } from "../../src/ids.js";

/** How a request named its target. */
export type RoutingForm = "host" | "header" | "path";

/** A named sandbox port and the path to send upstream. */
export interface Target {
  readonly sandboxId: SandboxId;
  /** The port inside the sandbox (1..65535). */
  readonly port: number;
  /** Request target for the upstream: the original URL, or `/<rest>` for the path form. */
  readonly path: string;
  readonly form: RoutingForm;
}

/** A request that tried to name a sandbox but got it wrong (answered 404 with `message`). */
export interface InvalidTarget {
  readonly invalid: true;
  readonly message: string;
}

/** Routing headers: never forwarded to the sandbox (they describe the proxy hop). */
export const ROUTING_HEADERS = ["e2b-sandbox-id", "e2b-sandbox-port", "x-corral-sandbox-id", "x-corral-sandbox-port"] as const;

const PATH_PREFIX = "/sandboxes/";

/** A port number from its decimal text, or 0 when it is not one of 1..65535. */
function parsePort(text: string): number {
  if (text.length === 0 || text.length > 5) return 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return 0;
    n = n * 10 + c;
  }
  return n >= 1 && n <= 65535 ? n : 0;
}

function invalid(message: string): InvalidTarget {
  return { invalid: true, message };
}

/** The host form; `undefined` when the host is not `<label>.<domain>`. */
function fromHost(host: string, domainSuffix: string, url: string): Target | InvalidTarget | undefined {
  let end = host.length;
  // A port suffix (`...corral.localhost:8480`). Host names have no other colon
  // (IPv6 literals start with `[` and never end in our domain).
  const colon = host.lastIndexOf(":");
  if (colon !== -1) end = colon;
  const name = host.slice(0, end).toLowerCase();
  if (!name.endsWith(domainSuffix)) return undefined;
  const label = name.slice(0, name.length - domainSuffix.length);
  if (label.length === 0 || label.includes(".")) return undefined;
  const dash = label.indexOf("-");
  if (dash === -1) return invalid("host must be <port>-<sandboxId>.<domain>");
  const port = parsePort(label.slice(0, dash));
  const id = label.slice(dash + 1);
  if (port === 0) return invalid("host names an invalid port");
  if (!isSandboxId(id)) return invalid("host names an invalid sandbox id");
  return { sandboxId: id, port, path: url, form: "host" };
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The header forms; `undefined` when neither id header is present. */
function fromHeaders(headers: IncomingHttpHeaders, url: string): Target | InvalidTarget | undefined {
  let id = headerValue(headers["e2b-sandbox-id"]);
  let portText = headerValue(headers["e2b-sandbox-port"]);
  if (id === undefined) {
    id = headerValue(headers["x-corral-sandbox-id"]);
    portText = headerValue(headers["x-corral-sandbox-port"]);
  }
  if (id === undefined) return undefined;
  if (!isSandboxId(id)) return invalid("sandbox id header names an invalid sandbox id");
  const port = parsePort(portText ?? "");
  if (port === 0) return invalid("sandbox port header is missing or invalid");
  return { sandboxId: id, port, path: url, form: "header" };
}

/** The path form; `undefined` unless the URL starts with `/sandboxes/`. */
function fromPath(url: string): Target | InvalidTarget | undefined {
  if (!url.startsWith(PATH_PREFIX)) return undefined;
  const idEnd = url.indexOf("/", PATH_PREFIX.length);
  if (idEnd === -1) return invalid("path must be /sandboxes/<sandboxId>/<port>/<rest>");
  const id = url.slice(PATH_PREFIX.length, idEnd);
  if (!isSandboxId(id)) return invalid("path names an invalid sandbox id");
  let portEnd = idEnd + 1;
  while (portEnd < url.length && url.charCodeAt(portEnd) !== 47 /* / */ && url.charCodeAt(portEnd) !== 63 /* ? */) portEnd++;
  const port = parsePort(url.slice(idEnd + 1, portEnd));
  if (port === 0) return invalid("path names an invalid port");
  const rest = url.slice(portEnd);
  const path = rest.length === 0 ? "/" : rest.charCodeAt(0) === 63 ? `/${rest}` : rest;
  return { sandboxId: id, port, path, form: "path" };
}

/**
 * The request's target, an `InvalidTarget` when a form was used wrongly, or
 * `null` when the request names no sandbox at all (the proxy's own routes,
 * e.g. `/healthz`, or a 404).
 *
 * @param domain the proxy's domain, lower case without a leading dot, e.g. `corral.localhost`
 */
export function resolveTarget(host: string | undefined, headers: IncomingHttpHeaders, url: string, domain: string): Target | InvalidTarget | null {
  if (host !== undefined) {
    const t = fromHost(host, `.${domain}`, url);
    if (t !== undefined) return t;
  }
  return fromHeaders(headers, url) ?? fromPath(url) ?? null;
}

/** Type guard: the resolution is a usable target. */
export function isTarget(r: Target | InvalidTarget | null): r is Target {
  return r !== null && !("invalid" in r);
}
