// Fuzz (issue 5): 2,000 malformed requests over every endpoint, from a fixed
// seed — random bytes (JSON and msgpack), wrong types, huge values, missing
// fields, unknown fields, oversized bodies, bad and unknown ids. Every reply
// must be a contract error (`invalid_argument`, or `not_found` for a
// well-formed request naming no sandbox) with matching headers; none may
// time out; the `corral node` process serving them must not crash; and
// normal requests interleaved with the fuzz keep working throughout.
import { describe, expect, it } from "vitest";
import { encodeJson } from "../../src/codec.js";
import { MAX_REQUEST_BYTES } from "../../src/schema/requests.js";
import { API_OPS, type ApiOp } from "../../src/subjects.js";
import { errorOf, rawRequest, type RawReply } from "../helpers/api.js";
import { useCorralProcesses } from "../helpers/corral.js";
import { prng } from "../helpers/prng.js";

/** Fixed, so runs are reproducible; `CORRAL_FUZZ_SEED` explores others. */
const SEED = Number(process.env.CORRAL_FUZZ_SEED ?? 0x5eed_c0a1);
const TOTAL = 2_000;
const BATCH = 50;

interface Case {
  op: ApiOp;
  kind: string;
  body: Uint8Array | unknown;
  msgpack: boolean;
  /** A well-formed request naming an id that does not exist. */
  unknownId?: boolean;
}

function makeCases(random: () => number): Case[] {
  const int = (n: number) => Math.floor(random() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const randomId = () => Array.from({ length: 20 }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[int(36)]).join("");
  const wrong = () => pick([null, true, false, 0, -1, 1.5, "x", "", [], {}, [1, 2], { a: 1 }, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2]);
  const huge = () => pick([1e308, -1e308, 2 ** 53 + 2, "z".repeat(100_000), Array.from({ length: 5_000 }, () => "running"), Object.fromEntries(Array.from({ length: 2_000 }, (_, i) => [`k${i}`, "v"]))]);
  const fields: Record<ApiOp, string[]> = {
    create: ["template", "timeoutMs", "expiration", "lifecycle", "metadata", "env", "resources", "secure", "key"],
    get: ["sandboxId"],
    list: ["state", "metadata", "limit", "cursor"],
    kill: ["sandboxId"],
    pause: ["sandboxId"],
    resume: ["sandboxId", "timeoutMs"],
    connect: ["sandboxId", "timeoutMs"],
    set_timeout: ["sandboxId", "timeoutMs"],
    refresh: ["sandboxId", "durationMs"],
  };
  const cases: Case[] = [];
  for (let i = 0; i < TOTAL; i++) {
    const op = API_OPS[i % API_OPS.length]!;
    const msgpack = random() < 0.3;
    const field = pick(fields[op]);
    const base: Record<string, unknown> = op === "create" || op === "list" ? {} : { sandboxId: randomId() };
    if (op === "set_timeout") base.timeoutMs = 1_000;
    const kind = pick(["bytes", "wrong-type", "huge", "missing", "unknown-field", "oversized", "bad-id", "unknown-id", "not-object"]);
    switch (kind) {
      case "bytes": {
        const bytes = Uint8Array.from({ length: 1 + int(64) }, () => int(256));
        // Never a map/object opener: a random `{}` would be a valid create or list.
        if (bytes[0] === 0x7b || (bytes[0]! >= 0x80 && bytes[0]! <= 0x8f) || bytes[0] === 0xde || bytes[0] === 0xdf) bytes[0] = 0xc1;
        cases.push({ op, kind, body: bytes, msgpack });
        break;
      }
      case "wrong-type":
        cases.push({ op, kind, body: { ...base, [field]: wrongFor(op, field, wrong) }, msgpack });
        break;
      case "huge":
        cases.push({ op, kind, body: { ...base, [field]: huge() }, msgpack });
        break;
      case "missing":
        if (op === "create" || op === "list") cases.push({ op, kind, body: { ...base, [field]: presentButEmpty(field, random) }, msgpack });
        else cases.push({ op, kind, body: {}, msgpack });
        break;
      case "unknown-field":
        cases.push({ op, kind, body: { ...base, [pick(["reason", "nodeId", "state_", "internal", "x"])]: wrong() }, msgpack });
        break;
      case "oversized":
        cases.push({ op, kind, body: encodeJson({ ...base, pad: "p".repeat(MAX_REQUEST_BYTES + int(200_000)) }), msgpack: false });
        break;
      case "bad-id":
        cases.push({ op: op === "create" || op === "list" ? "get" : op, kind, body: { ...base, sandboxId: pick(["", "short", "A".repeat(20), "a".repeat(21), "a-b-c-d-e-f-g-h-i-j-", "../../etc/passwd", "a".repeat(19) + "*", "a.b.c"]) }, msgpack });
        break;
      case "unknown-id":
        if (op === "create" || op === "list") cases.push({ op, kind, body: { ...base, [field]: wrongFor(op, field, wrong) }, msgpack });
        else cases.push({ op, kind, body: base, msgpack, unknownId: true });
        break;
      default:
        cases.push({ op, kind, body: pick([null, 42, "string", [base], true]), msgpack });
    }
  }
  return cases;
}

/** A value `field` of `op` never accepts (never undefined, which would drop the field). */
function wrongFor(op: ApiOp, field: string, wrong: () => unknown): unknown {
  for (;;) {
    const v = wrong();
    // Values some fields accept: keep only the ones that are wrong for this field.
    if (field === "cursor" && v === null) continue;
    if ((field === "metadata" || field === "env") && (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0)) continue;
    if ((field === "lifecycle" || field === "resources") && typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    if (field === "secure" && typeof v === "boolean") continue;
    if ((field === "template" || field === "key") && v === "x") continue;
    if (field === "limit" && v === 1) continue;
    if (field === "state" && Array.isArray(v) && v.length === 0) continue;
    if (op === "set_timeout" && field === "timeoutMs" && v === 0) continue;
    return v;
  }
}

/**
 * "Missing" for the all-optional bodies (create, list): the field present but
 * empty (`null` or `""`), which only an omitted field may be. `cursor` is the
 * exception (null and "" both mean "first page"), so it gets a number.
 */
function presentButEmpty(field: string, random: () => number): unknown {
  if (field === "cursor") return 0;
  return random() < 0.5 ? null : "";
}

const corral = useCorralProcesses({ nodes: [{ prefix: "apifuzz", driver: "process" }] });

describe("fuzz", () => {
  it(`${TOTAL} malformed requests: every reply a contract error, no timeout, no crash, normal requests unaffected`, async () => {
    const { client, nc, node } = corral;
    const live = await client.create({ timeoutMs: 600_000, metadata: { suite: "fuzz" } });
    const cases = makeCases(prng(SEED));
    const failures: string[] = [];
    const codes = new Map<string, number>();
    for (let start = 0; start < cases.length; start += BATCH) {
      const batch = cases.slice(start, start + BATCH);
      const replies = await Promise.all(
        batch.map((c) => rawRequest(nc, c.op, c.body, { msgpack: c.msgpack, timeoutMs: 10_000 }).catch((err: unknown) => err as Error)),
      );
      replies.forEach((reply, j) => {
        const c = batch[j]!;
        const where = `case ${start + j} (${c.op}, ${c.kind}, ${c.msgpack ? "msgpack" : "json"})`;
        if (reply instanceof Error) return void failures.push(`${where}: no reply: ${reply.message}`);
        const problem = checkReply(reply, c);
        if (problem) failures.push(`${where}: ${problem}`);
        const code = errorOf(reply)?.code ?? "success";
        codes.set(code, (codes.get(code) ?? 0) + 1);
      });
      // Normal traffic between every batch, from the same service.
      expect((await client.get(live.sandboxId)).state).toBe("running");
      expect((await client.setTimeout(live.sandboxId, 600_000)).endAt).not.toBeNull();
      expect((await client.list({ metadata: { suite: "fuzz" } })).items.map((r) => r.sandboxId)).toEqual([live.sandboxId]);
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(codes.get("invalid_argument")).toBeGreaterThan(TOTAL / 2);
    expect(codes.get("not_found")).toBeGreaterThan(0);
    // No crash: the node process is alive and still serves a full create -> kill.
    expect(node.child.exitCode).toBeNull();
    expect(node.child.signalCode).toBeNull();
    const again = await client.create();
    expect((await client.kill(again.sandboxId)).state).toBe("killed");
    expect((await client.kill(live.sandboxId)).state).toBe("killed");
  });
});

/** Why a reply breaks the contract, or null. */
function checkReply(reply: RawReply, c: Case): string | null {
  const error = errorOf(reply);
  if (!error) return `not an error reply: ${JSON.stringify(reply.body).slice(0, 120)}`;
  const expected = c.unknownId ? "not_found" : "invalid_argument";
  if (error.code !== expected) return `code ${error.code} (${error.message}), expected ${expected}`;
  if (reply.status !== (expected === "not_found" ? "404" : "400")) return `status header ${reply.status}`;
  if (reply.errorMessage !== error.message) return `Nats-Service-Error ${JSON.stringify(reply.errorMessage)} != body message`;
  const wantType = c.msgpack ? "application/msgpack" : "application/json";
  if (reply.contentType !== wantType) return `content type ${reply.contentType}, expected ${wantType}`;
  return null;
}
