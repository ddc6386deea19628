// E2B gateway mappings (issue 18): seconds <-> ms, states, the SDK's
// double-encoded metadata query, refusals of what Corral lacks, errors.
import { describe, expect, it } from "vitest";
import { errorAnswer, CAPACITY_RETRY_AFTER_S } from "../../actors/gateway/errors.js";
import { match } from "../../actors/gateway/routes.js";
import { NewSandboxSchema, createRequestOf, e2bState, listedSandbox, metadataOf, statesOf } from "../../actors/gateway/wire.js";
import { CapacityExhaustedError, ConflictError, GoneError, NotFoundError } from "../../src/errors.js";
import { ENVD_VERSION } from "../../src/envd-token.js";
import { toPublicRecord } from "../../src/schema/record.js";
import { makeStoredSandbox } from "../helpers/records.js";

const body = (b: unknown) => NewSandboxSchema.parse(b);

describe("E2B -> Corral create", () => {
  it("maps seconds, metadata, env vars and lifecycle; public traffic is Corral's insecure", () => {
    const { request, secure } = createRequestOf(body({ templateID: "base", timeout: 30, metadata: { a: "b" }, envVars: { K: "v" }, autoPause: true, autoResume: { enabled: true } }));
    expect(secure).toBe(false);
    expect(request).toEqual({ template: "base", secure: false, timeoutMs: 30_000, metadata: { a: "b" }, env: { K: "v" }, lifecycle: { onTimeout: "pause", autoResume: true } });
    expect(createRequestOf(body({ templateID: "base", network: { allowPublicTraffic: false } })).secure).toBe(true);
  });

  it("refuses what Corral cannot do instead of ignoring it", () => {
    expect(() => createRequestOf(body({ templateID: "base", volumeMounts: [{ name: "v", path: "/data" }] }))).toThrow(/volumes/);
    expect(() => createRequestOf(body({ templateID: "base", network: { denyOut: ["0.0.0.0/0"] } }))).toThrow(/network/);
    expect(() => createRequestOf(body({ templateID: "base", allow_internet_access: false }))).toThrow(/network/);
    expect(() => createRequestOf(body({ templateID: "base", timeout: 0 }))).toThrow(/timeout/);
    expect(NewSandboxSchema.safeParse({ templateID: "base", timeout: 1.5 }).success).toBe(false);
    expect(NewSandboxSchema.safeParse({ timeout: 5 }).success).toBe(false);
  });
});

describe("list query", () => {
  it("decodes the SDK's double-encoded metadata", () => {
    const pairs = { "user id": "a&b=c", plain: "x" };
    const encoded = new URLSearchParams(Object.fromEntries(Object.entries(pairs).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]))).toString();
    expect(metadataOf(encoded)).toEqual(pairs);
    expect(metadataOf(undefined)).toBeUndefined();
  });

  it("maps E2B's states to Corral's and refuses others", () => {
    expect(statesOf("running")).toEqual(["starting", "running", "resuming"]);
    expect(statesOf("paused")).toEqual(["pausing", "paused"]);
    expect(statesOf(undefined).sort()).toEqual(["paused", "pausing", "resuming", "running", "starting"]);
    expect(() => statesOf("killed")).toThrow(/state/);
    expect(e2bState("pausing")).toBe("paused");
    expect(e2bState("resuming")).toBe("running");
  });
});

describe("Corral -> E2B records", () => {
  it("sends ISO times and E2B's field names", () => {
    const r = toPublicRecord(makeStoredSandbox({ startedAt: 1_700_000_000_000, endAt: 1_700_000_300_000, metadata: { k: "v" } }));
    expect(listedSandbox(r, ENVD_VERSION)).toMatchObject({
      sandboxID: r.sandboxId,
      templateID: r.template,
      startedAt: "2023-11-14T22:13:20.000Z",
      endAt: "2023-11-14T22:18:20.000Z",
      state: "running",
      envdVersion: ENVD_VERSION,
      metadata: { k: "v" },
    });
  });
});

describe("routes and errors", () => {
  it("matches the contract's routes, and tells a wrong method from an unknown path", () => {
    expect(match("POST", "/v2/sandboxes")).toMatchObject({ id: "" });
    expect(match("POST", "/v2/sandboxes/abc/connect")).toMatchObject({ id: "abc" });
    expect(match("DELETE", "/sandboxes/abc")).toMatchObject({ id: "abc" });
    expect(match("PUT", "/sandboxes/abc")).toBe("method");
    expect(match("GET", "/templates")).toBeNull();
  });

  it("answers E2B's shapes: killed is 404, capacity 429 with an integer Retry-After", () => {
    expect(errorAnswer(new GoneError("gone"), "x")).toMatchObject({ status: 404, body: { code: 404, message: "gone" } });
    expect(errorAnswer(new NotFoundError("nf"), "x").status).toBe(404);
    expect(errorAnswer(new ConflictError("c"), "x").body).toEqual({ code: 409, message: "c" });
    const capacity = errorAnswer(new CapacityExhaustedError("full"), "x");
    expect(capacity).toMatchObject({ status: 429, headers: { "Retry-After": String(CAPACITY_RETRY_AFTER_S) } });
    expect(Number.isInteger(Number(capacity.headers["Retry-After"]))).toBe(true);
    expect(errorAnswer(new Error("boom"), "id-1")).toMatchObject({ status: 500, body: { code: 500, message: "internal error (id id-1)" } });
  });
});
