// Request and record schemas (src/schema): every API request body is strict
// (an unknown field is invalid_argument naming it), typed, range-checked, and
// every error names the field's path.
import { describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../../src/errors.js";
import { SandboxRecordSchema, StoredSandboxSchema, toPublicRecord } from "../../src/schema/record.js";
import { parseRequest, REQUEST_SCHEMAS } from "../../src/schema/requests.js";
import { API_OPS, type ApiOp } from "../../src/subjects.js";
import { makeStoredSandbox } from "../helpers/records.js";

const ID = "abcdefghij0123456789";

/** A minimal valid body per op. */
const VALID: Record<ApiOp, Record<string, unknown>> = {
  create: {},
  get: { sandboxId: ID },
  list: {},
  kill: { sandboxId: ID },
  pause: { sandboxId: ID },
  resume: { sandboxId: ID },
  connect: { sandboxId: ID },
  set_timeout: { sandboxId: ID, timeoutMs: 0 },
  refresh: { sandboxId: ID },
};

function rejects(op: ApiOp, body: unknown, ...fragments: string[]): string {
  let message = "";
  try {
    parseRequest(op, body);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidArgumentError);
    message = (err as Error).message;
  }
  expect(message, `${op} ${JSON.stringify(body)} was accepted`).not.toBe("");
  for (const fragment of fragments) expect(message).toContain(fragment);
  return message;
}

describe("request schemas", () => {
  it("covers every API op", () => {
    expect(Object.keys(REQUEST_SCHEMAS).sort()).toEqual([...API_OPS].sort());
  });

  it.each(API_OPS)("%s: accepts its minimal body", (op) => {
    expect(() => parseRequest(op, VALID[op])).not.toThrow();
  });

  it.each(API_OPS)("%s: rejects an unknown field, naming it", (op) => {
    rejects(op, { ...VALID[op], surprise: 1 }, "surprise");
  });

  it.each(API_OPS)("%s: rejects a body that is not an object", (op) => {
    for (const body of [null, [], "x", 3]) rejects(op, body, op);
  });

  it.each(API_OPS.filter((op) => op !== "create" && op !== "list"))("%s: sandboxId is required and validated", (op) => {
    rejects(op, { ...VALID[op], sandboxId: undefined }, "sandboxId");
    rejects(op, { ...VALID[op], sandboxId: "UPPERCASE-is-not-an-id" }, "sandboxId");
    rejects(op, { ...VALID[op], sandboxId: 42 }, "sandboxId");
  });

  it("create: every field typed, nested paths named", () => {
    rejects("create", { timeoutMs: "300000" }, "timeoutMs");
    rejects("create", { timeoutMs: -1 }, "timeoutMs");
    rejects("create", { timeoutMs: 1.5 }, "timeoutMs");
    rejects("create", { timeoutMs: 0 }, "timeoutMs");
    rejects("create", { expiration: "never" }, "expiration");
    rejects("create", { lifecycle: { onTimeout: "explode" } }, "lifecycle.onTimeout");
    rejects("create", { lifecycle: { idle: "yes" } }, "lifecycle.idle");
    rejects("create", { lifecycle: { sleepy: true } }, "lifecycle", "sleepy");
    rejects("create", { metadata: { user: 1 } }, "metadata.user");
    rejects("create", { env: { "1BAD": "x" } }, "env");
    rejects("create", { resources: { memoryMB: 1.5 } }, "resources.memoryMB");
    rejects("create", { resources: { gpu: 1 } }, "resources", "gpu");
    rejects("create", { template: "Not A Template" }, "template");
    rejects("create", { secure: "true" }, "secure");
    rejects("create", { key: "" }, "key");
    rejects("create", { key: "k".repeat(257) }, "key");
  });

  it("create: limits on metadata entries", () => {
    const metadata = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, "v"]));
    rejects("create", { metadata }, "metadata", "64");
    const { k64: _dropped, ...sixtyFour } = metadata;
    expect(() => parseRequest("create", { metadata: sixtyFour })).not.toThrow();
  });

  it("create: accepts a full body", () => {
    const body = {
      template: "base",
      timeoutMs: 60_000,
      expiration: "manual",
      lifecycle: { onTimeout: "pause", autoResume: true, idle: true },
      metadata: { user: "alice" },
      env: { FOO: "bar" },
      resources: { cpu: 0.5, memoryMB: 256 },
      secure: false,
      key: "thread-42",
    };
    expect(parseRequest("create", body)).toEqual(body);
  });

  it("resume/connect: timeoutMs is an integer >= 1", () => {
    for (const op of ["resume", "connect"] as const) {
      rejects(op, { sandboxId: ID, timeoutMs: 0 }, "timeoutMs");
      rejects(op, { sandboxId: ID, timeoutMs: -1 }, "timeoutMs");
      rejects(op, { sandboxId: ID, timeoutMs: "10" }, "timeoutMs");
      expect(parseRequest(op, { sandboxId: ID, timeoutMs: 1 }).timeoutMs).toBe(1);
    }
  });

  it("set_timeout: timeoutMs is required, an integer >= 0", () => {
    rejects("set_timeout", { sandboxId: ID }, "timeoutMs");
    rejects("set_timeout", { sandboxId: ID, timeoutMs: -1 }, "timeoutMs");
    rejects("set_timeout", { sandboxId: ID, timeoutMs: 2.5 }, "timeoutMs");
    rejects("set_timeout", { sandboxId: ID, timeoutMs: null }, "timeoutMs");
  });

  it("refresh: durationMs is optional (omitted stays omitted, never 0), 1..3600000", () => {
    expect(parseRequest("refresh", { sandboxId: ID }).durationMs).toBeUndefined();
    rejects("refresh", { sandboxId: ID, durationMs: 0 }, "durationMs");
    rejects("refresh", { sandboxId: ID, durationMs: 3_600_001 }, "durationMs");
    rejects("refresh", { sandboxId: ID, durationMs: null }, "durationMs");
    expect(parseRequest("refresh", { sandboxId: ID, durationMs: 3_600_000 }).durationMs).toBe(3_600_000);
  });

  it("list: states, limit range, cursor; array paths are named with their index", () => {
    rejects("list", { state: ["running", "sleeping"] }, "state[1]");
    rejects("list", { limit: 0 }, "limit");
    rejects("list", { limit: 1001 }, "limit");
    rejects("list", { limit: 10.5 }, "limit");
    rejects("list", { metadata: { a: 1 } }, "metadata.a");
    expect(parseRequest("list", { state: ["killed"], limit: 1000, cursor: null })).toEqual({ state: ["killed"], limit: 1000, cursor: null });
  });
});

describe("record schema", () => {
  it("accepts a stored record and its public view, which has no internal fields", () => {
    const stored = makeStoredSandbox({ metadata: { user: "alice" } });
    expect(StoredSandboxSchema.parse(stored)).toEqual(stored);
    const pub = toPublicRecord(stored);
    expect(pub).not.toHaveProperty("internal");
    expect(SandboxRecordSchema.parse(pub)).toEqual(pub);
  });

  it("rejects unknown fields and wrong types, at any depth", () => {
    const stored = makeStoredSandbox();
    expect(StoredSandboxSchema.safeParse({ ...stored, extra: 1 }).success).toBe(false);
    expect(StoredSandboxSchema.safeParse({ ...stored, internal: { ...stored.internal, token: "x" } }).success).toBe(false);
    expect(StoredSandboxSchema.safeParse({ ...stored, endAt: "soon" }).success).toBe(false);
    expect(StoredSandboxSchema.safeParse({ ...stored, state: "sleeping" }).success).toBe(false);
    expect(StoredSandboxSchema.safeParse({ ...stored, killReason: "bored" }).success).toBe(false);
    // The public record is exactly the contract's fields: internal is not one of them.
    expect(SandboxRecordSchema.safeParse(stored).success).toBe(false);
  });
});
