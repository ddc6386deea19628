/**
 * Request bodies of every API operation (DESIGN.md, "NATS request/reply API").
 * Objects are strict: unknown fields are `invalid_argument`. Durations are
 * integers of milliseconds. Ranges that depend on server configuration
 * (`timeoutMs <= maxTimeoutMs`) are checked by `src/lifecycle/deadline.ts`
 * right after this parse, still before any state is read.
 */
import { z } from "zod";
import { InvalidArgumentError } from "../errors.js";
import type { ApiOp } from "../subjects.js";
import {
  LifecycleSchema,
  MetadataSchema,
  ResourcesSchema,
  SandboxIdSchema,
  SandboxStateSchema,
  TemplateNameSchema,
} from "./record.js";

/** Integer milliseconds, >= min. Upper bounds that depend on config are applied later. */
const ms = (min: number) => z.number().int().min(min);

export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
export const ENV_MAX_ENTRIES = 128;
export const EnvSchema = z
  .record(z.string().regex(ENV_NAME_PATTERN, "environment variable names are [A-Za-z_][A-Za-z0-9_]*"), z.string().max(32_768))
  .refine((e) => Object.keys(e).length <= ENV_MAX_ENTRIES, `at most ${ENV_MAX_ENTRIES} entries`);

export const CreateRequestSchema = z.strictObject({
  /** @default "base" */
  template: TemplateNameSchema.optional(),
  /** @default 300000 (5 min); 1..maxTimeoutMs */
  timeoutMs: ms(1).optional(),
  /** @default "ttl" */
  expiration: z.enum(["ttl", "manual"]).optional(),
  lifecycle: LifecycleSchema.partial().optional(),
  metadata: MetadataSchema.optional(),
  env: EnvSchema.optional(),
  resources: ResourcesSchema.partial().optional(),
  /** @default true: the proxy requires the traffic token */
  secure: z.boolean().optional(),
  /** Idempotency key (e.g. an agent's thread id). */
  key: z.string().min(1).max(256).optional(),
});
export type CreateRequest = z.infer<typeof CreateRequestSchema>;

export const SandboxRefSchema = z.strictObject({ sandboxId: SandboxIdSchema });
export type SandboxRef = z.infer<typeof SandboxRefSchema>;

export const ResumeRequestSchema = z.strictObject({ sandboxId: SandboxIdSchema, timeoutMs: ms(1).optional() });
export type ResumeRequest = z.infer<typeof ResumeRequestSchema>;

export const SetTimeoutRequestSchema = z.strictObject({ sandboxId: SandboxIdSchema, timeoutMs: ms(0) });
export type SetTimeoutRequest = z.infer<typeof SetTimeoutRequestSchema>;

export const REFRESH_DEFAULT_MS = 60_000;
export const REFRESH_MAX_MS = 3_600_000;
export const RefreshRequestSchema = z.strictObject({
  sandboxId: SandboxIdSchema,
  /** @default 60000; 1..3600000 */
  durationMs: ms(1).max(REFRESH_MAX_MS).optional(),
});
export type RefreshRequest = z.infer<typeof RefreshRequestSchema>;

export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;
export const ListRequestSchema = z.strictObject({
  state: z.array(SandboxStateSchema).max(7).optional(),
  metadata: MetadataSchema.optional(),
  /** @default 100; 1..1000 */
  limit: z.number().int().min(1).max(LIST_MAX_LIMIT).optional(),
  /** `nextCursor` of the previous page; null (or omitted) for the first page. */
  cursor: z.string().min(1).max(512).nullable().optional(),
});
export type ListRequest = z.infer<typeof ListRequestSchema>;

/** Request schema of each API operation. */
export const REQUEST_SCHEMAS = {
  create: CreateRequestSchema,
  get: SandboxRefSchema,
  list: ListRequestSchema,
  kill: SandboxRefSchema,
  pause: SandboxRefSchema,
  resume: ResumeRequestSchema,
  connect: ResumeRequestSchema,
  set_timeout: SetTimeoutRequestSchema,
  refresh: RefreshRequestSchema,
} as const satisfies Record<ApiOp, z.ZodType>;

export type RequestOf<Op extends ApiOp> = z.infer<(typeof REQUEST_SCHEMAS)[Op]>;

/** `a.b[2]: message` for the first few issues; the field path is always named. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => {
      const path = issue.path.length === 0 ? "body" : issue.path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
      return `${path}: ${issue.message}`;
    })
    .join("; ");
}

/** Validates a value against a schema; throws `invalid_argument` naming the field. */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown, what = "request"): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(`invalid ${what}: ${describeIssues(result.error)}`);
  return result.data;
}

/**
 * Largest request body the service decodes (bytes). A sandbox's whole
 * request (env and metadata at their limits included) fits well inside it;
 * anything bigger is refused before it is parsed.
 */
export const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * True when some object in `value` has an own `__proto__` key. zod drops such
 * keys silently (JSON.parse makes them own properties), so a metadata entry
 * named `__proto__` would vanish instead of being refused. Iterative: bodies
 * may nest deeply.
 */
function hasProtoKey(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v === null || typeof v !== "object") continue;
    if (Object.hasOwn(v, "__proto__")) return true;
    for (const child of Object.values(v)) if (child !== null && typeof child === "object") stack.push(child);
  }
  return false;
}

/** Validates the decoded body of an API request. A non-object body is `invalid_argument`. */
export function parseRequest<Op extends ApiOp>(op: Op, body: unknown): RequestOf<Op> {
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidArgumentError(`invalid ${op} request: body must be a JSON object`);
  }
  if (hasProtoKey(body)) throw new InvalidArgumentError(`invalid ${op} request: "__proto__" is not allowed as a field or key name`);
  return parseWith(REQUEST_SCHEMAS[op], body, `${op} request`) as RequestOf<Op>;
}
