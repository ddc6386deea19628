/**
 * The E2B REST API's shapes (the subset its SDKs use, as E2B's OpenAPI
 * schema names them) and their mapping to and from Corral's: seconds on the
 * wire, milliseconds inside; E2B's two states (`running`, `paused`) from
 * Corral's seven; ISO dates from epoch ms.
 */
import { z } from "zod";
import { InvalidArgumentError } from "../../src/errors.js";
import type { SandboxRecord, SandboxState } from "../../src/schema/record.js";
import type { CreateRequest } from "../../src/schema/requests.js";


const Seconds = z.number().int().nonnegative();

/** `NewSandbox` / `NewSandboxV2`. Unknown fields are ignored, as E2B's API does; features Corral lacks are refused. */
export const NewSandboxSchema = z.object({
  templateID: z.string().min(1),
  timeout: Seconds.optional(),
  metadata: z.record(z.string(), z.string()).optional(),
  envVars: z.record(z.string(), z.string()).optional(),
  autoPause: z.boolean().optional(),
  autoPauseMemory: z.boolean().optional(),
  autoResume: z.object({ enabled: z.boolean() }).optional(),
  secure: z.boolean().optional(),
  allow_internet_access: z.boolean().optional(),
  network: z
    .object({
      allowPublicTraffic: z.boolean().optional(),
      allowOut: z.array(z.unknown()).optional(),
      denyOut: z.array(z.unknown()).optional(),
      rules: z.unknown().optional(),
      egressProxy: z.unknown().optional(),
      maskRequestHost: z.unknown().optional(),
      httpsPorts: z.unknown().optional(),
    })
    .optional(),
  volumeMounts: z.array(z.unknown()).optional(),
  mcp: z.unknown().optional(),
  iam: z.unknown().optional(),
});
export type NewSandbox = z.infer<typeof NewSandboxSchema>;

/** `POST /sandboxes/{id}/timeout`. */
export const TimeoutSchema = z.object({ timeout: Seconds });
/** `POST /sandboxes/{id}/refreshes`. */
export const RefreshSchema = z.object({ duration: z.number().int().min(1).max(3600).optional() });
/** `POST /sandboxes/{id}/connect`, `/v2/.../connect`, `/resume`. */
export const ConnectSchema = z.object({ timeout: Seconds.optional(), memory: z.boolean().optional(), autoPause: z.boolean().optional() });

/** `GET /v2/sandboxes` query. */
export const ListQuerySchema = z.object({
  metadata: z.string().optional(),
  state: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
  nextToken: z.string().min(1).optional(),
});

const E2B_STATES = { running: ["starting", "running", "resuming"], paused: ["pausing", "paused"] } as const satisfies Record<string, SandboxState[]>;

/** Corral's states for E2B's `state` filter (comma-separated); both when absent. */
export function statesOf(state: string | undefined): SandboxState[] {
  const names = state ? state.split(",").map((s) => s.trim()).filter(Boolean) : ["running", "paused"];
  const out: SandboxState[] = [];
  for (const name of names) {
    if (name !== "running" && name !== "paused") throw new InvalidArgumentError(`state: expected running or paused, got ${JSON.stringify(name)}`);
    out.push(...E2B_STATES[name]);
  }
  return [...new Set(out)];
}

/** The SDK's `metadata` query: a URL-encoded `k=v&...` string whose keys and values are URL-encoded again. */
export function metadataOf(query: string | undefined): Record<string, string> | undefined {
  if (!query) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(query)) {
    try {
      out[decodeURIComponent(k)] = decodeURIComponent(v);
    } catch {
      throw new InvalidArgumentError("metadata: malformed percent-encoding");
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Corral's create request for an E2B `NewSandbox`; refuses what Corral cannot do rather than ignoring it. */
export function createRequestOf(body: NewSandbox): { request: CreateRequest; secure: boolean } {
  if (body.volumeMounts && body.volumeMounts.length > 0) throw new InvalidArgumentError("volumeMounts: volumes are not supported by Corral");
  if (body.mcp !== undefined && body.mcp !== null) throw new InvalidArgumentError("mcp: the MCP gateway is not supported by Corral");
  const net = body.network;
  if (body.allow_internet_access === false || (net && (net.allowOut?.length || net.denyOut?.length || net.rules || net.egressProxy))) {
    throw new InvalidArgumentError("network: egress policies are not supported by Corral");
  }
  // E2B sandboxes are publicly reachable unless `allowPublicTraffic: false`, which is Corral's `secure`.
  const secure = net?.allowPublicTraffic === false;
  const request: CreateRequest = { template: body.templateID, secure };
  if (body.timeout !== undefined) {
    if (body.timeout === 0) throw new InvalidArgumentError("timeout: must be at least 1 second");
    request.timeoutMs = body.timeout * 1000;
  }
  if (body.metadata) request.metadata = body.metadata;
  if (body.envVars) request.env = body.envVars;
  const lifecycle: NonNullable<CreateRequest["lifecycle"]> = {};
  if (body.autoPause) lifecycle.onTimeout = "pause";
  if (body.autoResume?.enabled) lifecycle.autoResume = true;
  if (Object.keys(lifecycle).length > 0) request.lifecycle = lifecycle;
  return { request, secure };
}

/** E2B's state of a record (a live one: killed records are 404 before this). */
export function e2bState(state: SandboxState): "running" | "paused" {
  return state === "paused" || state === "pausing" ? "paused" : "running";
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The end E2B shows: the deadline, or (paused, manual) when it would end if resumed now. */
function endOf(r: SandboxRecord): number {
  return r.endAt ?? (r.startedAt ?? r.createdAt) + r.timeoutMs;
}

/** `ListedSandbox`. */
export function listedSandbox(r: SandboxRecord, envdVersion: string): Record<string, unknown> {
  return {
    sandboxID: r.sandboxId,
    templateID: r.template,
    clientID: "corral",
    startedAt: iso(r.startedAt ?? r.createdAt),
    endAt: iso(endOf(r)),
    state: e2bState(r.state),
    cpuCount: r.resources.cpu,
    memoryMB: r.resources.memoryMB,
    diskSizeMB: 0,
    envdVersion,
    metadata: r.metadata,
  };
}

/** `SandboxDetail`. */
export function sandboxDetail(r: SandboxRecord, envdVersion: string, envdAccessToken: string, domain: string | null): Record<string, unknown> {
  return {
    ...listedSandbox(r, envdVersion),
    envdAccessToken,
    domain,
    lifecycle: { onTimeout: r.lifecycle.onTimeout, autoResume: r.lifecycle.autoResume },
  };
}

/** `Sandbox` (the create/connect/resume reply). */
export function sandboxReply(r: SandboxRecord, envdVersion: string, envdAccessToken: string, domain: string | null, trafficAccessToken: string | null): Record<string, unknown> {
  return { sandboxID: r.sandboxId, templateID: r.template, clientID: "corral", envdVersion, envdAccessToken, trafficAccessToken, domain };
}
