/**
 * The E2B REST routes (DESIGN.md, "E2B compatibility"), each one call (or
 * two) of the tenant's API. Handlers get a client acting as the key's tenant
 * and answer `{status, body, headers}`; validation is zod at the edge.
 */
import type { z } from "zod";
import type { CorralClient } from "../../src/client/client.js";
import { ConflictError, InvalidArgumentError, NotFoundError } from "../../src/errors.js";
import { ENVD_VERSION, deriveEnvdToken } from "../../src/envd-token.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import {
  ConnectSchema,
  ListQuerySchema,
  NewSandboxSchema,
  RefreshSchema,
  TimeoutSchema,
  createRequestOf,
  listedSandbox,
  metadataOf,
  sandboxDetail,
  sandboxReply,
  statesOf,
} from "./wire.js";

/** What a handler gets. */
export interface RouteContext {
  client: CorralClient;
  /** The cluster's envd secret. */
  secret: Uint8Array;
  /** `domain` in replies (the SDK builds sandbox host names from it when E2B_SANDBOX_URL is unset). */
  domain: string | null;
  body: unknown;
  query: URLSearchParams;
  /** The `{id}` of the path, if the route has one. */
  id: string;
}

/** A handler's answer. */
export interface RouteAnswer {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type Handler = (ctx: RouteContext) => Promise<RouteAnswer>;

function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.infer<S> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new InvalidArgumentError(`${what}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; ")}`);
  return parsed.data;
}

const token = (ctx: RouteContext, r: SandboxRecord) => deriveEnvdToken(ctx.secret, r.sandboxId, r.createdAt);

/** The record of a live sandbox; killed ones (tombstones) are 404 as in E2B. */
async function live(ctx: RouteContext): Promise<SandboxRecord> {
  const r = await ctx.client.get(ctx.id);
  if (r.state === "killed" || r.state === "killing") throw new NotFoundError(`sandbox ${ctx.id} not found`);
  return r;
}

const create: Handler = async (ctx) => {
  const { request, secure } = createRequestOf(parse(NewSandboxSchema, ctx.body, "request body"));
  const reply = await ctx.client.create(request);
  return { status: 201, body: sandboxReply(reply, ENVD_VERSION, token(ctx, reply), ctx.domain, secure ? (reply.trafficToken ?? null) : null) };
};

const get: Handler = async (ctx) => {
  const r = await live(ctx);
  return { status: 200, body: sandboxDetail(r, ENVD_VERSION, token(ctx, r), ctx.domain) };
};

/** `GET /v2/sandboxes`: one page, `X-Next-Token` when there is another. */
const listV2: Handler = async (ctx) => {
  const q = parse(ListQuerySchema, Object.fromEntries(ctx.query), "query");
  const metadata = metadataOf(q.metadata);
  const page = await ctx.client.list({
    state: statesOf(q.state),
    ...(metadata ? { metadata } : {}),
    ...(q.limit ? { limit: q.limit } : {}),
    ...(q.nextToken ? { cursor: q.nextToken } : {}),
  });
  const headers: Record<string, string> = {};
  if (page.nextCursor) headers["X-Next-Token"] = page.nextCursor;
  return { status: 200, body: page.items.map((r) => listedSandbox(r, ENVD_VERSION)), headers };
};

/** `GET /sandboxes` (v1): every running sandbox, one page of at most 1000. */
const listV1: Handler = async (ctx) => {
  const metadata = metadataOf(ctx.query.get("metadata") ?? undefined);
  const page = await ctx.client.list({ state: statesOf("running"), limit: 1000, ...(metadata ? { metadata } : {}) });
  return { status: 200, body: page.items.map((r) => listedSandbox(r, ENVD_VERSION)) };
};

const kill: Handler = async (ctx) => {
  await live(ctx);
  await ctx.client.kill(ctx.id);
  return { status: 204 };
};

const setTimeout: Handler = async (ctx) => {
  const { timeout } = parse(TimeoutSchema, ctx.body, "request body");
  await ctx.client.setTimeout(ctx.id, timeout * 1000);
  return { status: 204 };
};

const refresh: Handler = async (ctx) => {
  const { duration } = parse(RefreshSchema, ctx.body, "request body");
  await ctx.client.refresh(ctx.id, duration === undefined ? undefined : duration * 1000);
  return { status: 204 };
};

const pause: Handler = async (ctx) => {
  const r = await live(ctx);
  if (r.state === "paused" || r.state === "pausing") throw new ConflictError(`sandbox ${ctx.id} is already paused`);
  await ctx.client.pause(ctx.id);
  return { status: 204 };
};

/** `POST /sandboxes/{id}/resume` (older SDKs): 201 with the sandbox; a running one is 409. */
const resume: Handler = async (ctx) => {
  const { timeout } = parse(ConnectSchema, ctx.body, "request body");
  const r = await live(ctx);
  if (r.state !== "paused" && r.state !== "pausing") throw new ConflictError(`sandbox ${ctx.id} is already running`);
  const resumed = await ctx.client.resume(ctx.id, timeout ? { timeoutMs: timeout * 1000 } : {});
  return { status: 201, body: sandboxReply(resumed, ENVD_VERSION, token(ctx, resumed), ctx.domain, null) };
};

/** `POST /sandboxes/{id}/connect`, `/v2/...`: 200 running, 201 resumed. */
const connect: Handler = async (ctx) => {
  const { timeout } = parse(ConnectSchema, ctx.body, "request body");
  const reply = await ctx.client.connectSandbox(ctx.id, timeout ? { timeoutMs: timeout * 1000 } : {});
  return { status: reply.resumed ? 201 : 200, body: sandboxReply(reply.sandbox, ENVD_VERSION, token(ctx, reply.sandbox), ctx.domain, null) };
};

/** Method, path pattern (`{id}` is one segment), handler. */
export const ROUTES: ReadonlyArray<readonly [string, string, Handler]> = [
  ["POST", "/sandboxes", create],
  ["POST", "/v2/sandboxes", create],
  ["GET", "/sandboxes", listV1],
  ["GET", "/v2/sandboxes", listV2],
  ["GET", "/sandboxes/{id}", get],
  ["DELETE", "/sandboxes/{id}", kill],
  ["POST", "/sandboxes/{id}/timeout", setTimeout],
  ["POST", "/sandboxes/{id}/refreshes", refresh],
  ["POST", "/sandboxes/{id}/pause", pause],
  ["POST", "/sandboxes/{id}/resume", resume],
  ["POST", "/sandboxes/{id}/connect", connect],
  ["POST", "/v2/sandboxes/{id}/connect", connect],
];

/** The handler and `{id}` for a request, `null` when no route has that path, or `"method"` when the path exists for another method. */
export function match(method: string, pathname: string): { handler: Handler; id: string } | null | "method" {
  const parts = pathname.split("/");
  let pathKnown = false;
  for (const [m, pattern, handler] of ROUTES) {
    const want = pattern.split("/");
    if (want.length !== parts.length) continue;
    let id = "";
    let ok = true;
    for (let i = 0; i < want.length; i++) {
      if (want[i] === "{id}") {
        if (!parts[i]) ok = false;
        id = decodeURIComponent(parts[i] ?? "");
      } else if (want[i] !== parts[i]) ok = false;
      if (!ok) break;
    }
    if (!ok) continue;
    if (m === method) return { handler, id };
    pathKnown = true;
  }
  return pathKnown ? "method" : null;
}
