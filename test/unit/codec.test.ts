// Codec round trips (src/codec.ts): a StoredSandbox with every field set —
// nulls, nested objects, metadata, large epoch-ms numbers — survives msgpack
// (KV, events) and JSON (clients) unchanged and still validates.
import { describe, expect, it } from "vitest";
import { decodeBody, decodeJson, decodeMsgpack, encodeAs, encodeJson, encodeMsgpack, encodingOf } from "../../src/codec.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { StoredSandboxSchema, type StoredSandbox } from "../../src/schema/record.js";
import { makeStoredSandbox } from "../helpers/records.js";

const T = 1_732_350_000_000;

/** Every field set, nullable ones both ways across the two fixtures. */
const FULL: StoredSandbox = makeStoredSandbox({
  template: "python-3.12",
  state: "killed",
  revision: 4_294_967_297,
  createdAt: T,
  startedAt: T + 150,
  endAt: T + 300_150,
  lastActiveAt: T + 1_000,
  timeoutMs: 300_000,
  expiration: "ttl",
  lifecycle: { onTimeout: "pause", autoResume: true, idle: true },
  metadata: { user: "alice", "team/name": "ünïcödé ✓", empty: "" },
  resources: { cpu: 0.5, memoryMB: 512 },
  killReason: "start_failed",
  error: { op: "start", message: 'image "x" not found', at: T + 10 },
  internal: {
    handle: "9f1c2e",
    endpoint: { host: "172.17.0.2", ports: { "8080": 32768 } },
    secure: true,
    tokenHash: "a".repeat(64),
    key: "thread-42",
    incarnation: 3,
    killedAt: T + 20,
    attempts: 2,
  },
});

const NULLS: StoredSandbox = makeStoredSandbox({
  state: "starting",
  startedAt: null,
  endAt: null,
  lastActiveAt: null,
  expiration: "manual",
  metadata: {},
  killReason: null,
  error: null,
  internal: { handle: null, endpoint: null, tokenHash: null, key: null, killedAt: null },
});

describe("codec", () => {
  it.each([
    ["every field set", FULL],
    ["every nullable null", NULLS],
  ])("msgpack round trip: %s", (_name, record) => {
    const decoded = decodeMsgpack<StoredSandbox>(encodeMsgpack(record));
    expect(decoded).toEqual(record);
    expect(StoredSandboxSchema.parse(decoded)).toEqual(record);
  });

  it.each([
    ["every field set", FULL],
    ["every nullable null", NULLS],
  ])("JSON round trip: %s", (_name, record) => {
    const decoded = decodeJson<StoredSandbox>(encodeJson(record));
    expect(decoded).toEqual(record);
    expect(StoredSandboxSchema.parse(decoded)).toEqual(record);
  });

  it("nulls stay null (not undefined, not dropped) in msgpack", () => {
    const decoded = decodeMsgpack<Record<string, unknown>>(encodeMsgpack(NULLS));
    expect(Object.keys(decoded)).toContain("endAt");
    expect(decoded.endAt).toBeNull();
    expect((decoded.internal as Record<string, unknown>).handle).toBeNull();
  });

  it("msgpack decodes to plain objects any reader can use (no msgpackr records)", () => {
    const decoded = decodeMsgpack<StoredSandbox>(encodeMsgpack(FULL));
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.getPrototypeOf(decoded.metadata)).toBe(Object.prototype);
  });

  it("encodeAs/encodingOf pick the encoding from Content-Type", () => {
    expect(encodingOf("application/msgpack")).toBe("msgpack");
    expect(encodingOf("Application/MsgPack; charset=binary")).toBe("msgpack");
    expect(encodingOf("application/json")).toBe("json");
    expect(encodingOf(undefined)).toBe("json");
    expect(decodeMsgpack(encodeAs("msgpack", FULL))).toEqual(FULL);
    expect(decodeJson(encodeAs("json", FULL))).toEqual(FULL);
  });

  it("decodeBody: empty is {}, garbage is invalid_argument", () => {
    expect(decodeBody("json", new Uint8Array())).toEqual({});
    expect(() => decodeBody("json", new TextEncoder().encode("{nope"))).toThrow(InvalidArgumentError);
    expect(() => decodeBody("json", new Uint8Array([0xff, 0xfe]))).toThrow(InvalidArgumentError);
    expect(() => decodeBody("msgpack", new Uint8Array([0x92, 0x01]))).toThrow(InvalidArgumentError);
  });
});
