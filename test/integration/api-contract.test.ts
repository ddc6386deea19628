// The `corral` service's wire contract (issue 5; DESIGN.md "NATS request/reply
// API" and "Exact behaviours"): service discovery, encodings, headers, and
// every error code of the table, through the client and on the raw wire.
// Real nats-server, real node actors (process driver: the API does not care
// which engine runs the sandbox, and it is faster).
import type { Service } from "@nats-io/services";
import { beforeAll, describe, expect, it } from "vitest";
import { startApiService } from "../../src/api/service.js";
import { CorralClient } from "../../src/client/client.js";
import { resolveConfig } from "../../src/config.js";
import { CapacityExhaustedError, ConflictError, GoneError, InternalError, InvalidArgumentError, NotFoundError, UnavailableError } from "../../src/errors.js";
import { openSandboxBucket } from "../../src/store/buckets.js";
import { NodeRegistry } from "../../src/store/node-registry.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { newSandboxId } from "../../src/ids.js";
import { logger } from "../../src/log.js";
import { API_OPS, CLUSTER_OPS } from "../../src/subjects.js";
import { BASE_TEMPLATE, TemplateRegistry } from "../../src/templates.js";
import { errorOf, rawRequest } from "../helpers/api.js";
import { FaultyDriver } from "../helpers/faulty-driver.js";
import { useCorral } from "../helpers/corral.js";
import { startNode } from "../helpers/node.js";

let faults: FaultyDriver;
const corral = useCorral({
  prefix: "apicontract",
  driver: "process",
  capacity: { cpu: 8, memoryMB: 4096 },
  templates: [{ ...BASE_TEMPLATE, name: "broken", processCommand: ["false"] }],
  wrapDriver: (real) => (faults = new FaultyDriver(real)),
});
const RECORD_FIELDS = ["createdAt", "endAt", "error", "expiration", "killReason", "lastActiveAt", "lifecycle", "metadata", "nodeId", "resources", "revision", "sandboxId", "startedAt", "state", "template", "tenant", "timeoutMs"];

describe("service discovery ($SRV)", () => {
  it("answers PING, INFO and STATS for `corral`, every endpoint in the queue group and on the instance's own subject", async () => {
    const ping = (await rawRequest(corral.nc, "$SRV.PING.corral", new Uint8Array())).body as { name: string; type: string; id: string };
    expect(ping).toMatchObject({ name: "corral", type: "io.nats.micro.v1.ping_response" });
    const info = (await rawRequest(corral.nc, "$SRV.INFO.corral", new Uint8Array())).body as { endpoints: { subject: string; queue_group: string }[] };
    const queued = [
      ...API_OPS.map((op) => `corral.v1.sandbox.${op}`),
      ...API_OPS.map((op) => `corral.v1.tenant.*.sandbox.${op}`),
      ...CLUSTER_OPS.map((op) => `corral.v1.cluster.${op}`),
    ];
    // Each also on `<subject>.<instanceId>`: where the client sends a retry (src/client/routing.ts).
    const served = [...queued, ...queued.map((subject) => `${subject}.${ping.id}`)];
    expect(info.endpoints.map((e) => e.subject).sort()).toEqual(served.sort());
    expect((await rawRequest(corral.nc, `corral.v1.sandbox.list.${ping.id}`, {})).body).toHaveProperty("items");
    expect(new Set(info.endpoints.map((e) => e.queue_group))).toEqual(new Set(["corral-api"]));
    await corral.client.list();
    const stats = (await rawRequest(corral.nc, "$SRV.STATS.corral", new Uint8Array())).body as { endpoints: { name: string; num_requests: number }[] };
    expect(stats.endpoints.find((e) => e.name === "list")!.num_requests).toBeGreaterThanOrEqual(1);
  });
});

describe("encodings and error replies", () => {
  it("answers JSON with the record's exact fields, plus created and trafficToken on a create", async () => {
    const reply = await rawRequest(corral.nc, "create", { metadata: { suite: "contract" } });
    expect(reply.status).toBeNull();
    expect(reply.contentType).toBe("application/json");
    const body = reply.body as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual([...RECORD_FIELDS, "created", "trafficToken"].sort());
    expect(body).toMatchObject({ state: "running", template: "base", timeoutMs: 300_000, expiration: "ttl", created: true, resources: { cpu: 1, memoryMB: 512 } });
    expect(body.lifecycle).toEqual({ onTimeout: "kill", autoResume: false, idle: false });
    const got = (await rawRequest(corral.nc, "get", { sandboxId: body.sandboxId })).body as Record<string, unknown>;
    expect(Object.keys(got).sort()).toEqual(RECORD_FIELDS);
    await corral.client.kill(body.sandboxId as string);
  });

  it("sets Nats-Service-Error-Code / Nats-Service-Error and the {error} body, in the request's encoding", async () => {
    const json = await rawRequest(corral.nc, "get", { sandboxId: newSandboxId() });
    expect(json).toMatchObject({ status: "404", contentType: "application/json" });
    expect(errorOf(json)).toEqual({ code: "not_found", message: json.errorMessage });
    const packed = await rawRequest(corral.nc, "get", { sandboxId: "bad" }, { msgpack: true });
    expect(packed).toMatchObject({ status: "400", contentType: "application/msgpack" });
    expect(errorOf(packed)?.code).toBe("invalid_argument");
    const undecodable = await rawRequest(corral.nc, "list", new Uint8Array([0xc1]), { msgpack: true });
    expect(undecodable).toMatchObject({ status: "400", contentType: "application/msgpack" });
  });

  it("reads a `content-type` header in any case", async () => {
    const { headers } = await import("@nats-io/nats-core");
    const h = headers();
    h.set("content-type", "application/msgpack");
    const { encodeMsgpack, decodeMsgpack } = await import("../../src/codec.js");
    const msg = await corral.nc.request("corral.v1.sandbox.list", encodeMsgpack({ limit: 1 }), { headers: h, timeout: 5_000 });
    expect(decodeMsgpack(msg.data)).toHaveProperty("items");
  });

  it("serves a whole lifecycle to a msgpack client", async () => {
    const packed = new CorralClient(corral.nc, { encoding: "msgpack" });
    const sbx = await packed.create({ timeoutMs: 60_000 });
    expect(sbx).toMatchObject({ state: "running", created: true });
    expect((await packed.pause(sbx.sandboxId)).state).toBe("paused");
    expect((await packed.connectSandbox(sbx.sandboxId)).resumed).toBe(true);
    expect((await packed.kill(sbx.sandboxId)).state).toBe("killed");
    await expect(packed.refresh(sbx.sandboxId)).rejects.toBeInstanceOf(GoneError);
  });

  it("refuses an oversized body and a __proto__ key as invalid_argument", async () => {
    const big = await rawRequest(corral.nc, "create", { metadata: { big: "x".repeat(300_000) } });
    expect(errorOf(big)?.code).toBe("invalid_argument");
    expect(big.errorMessage).toMatch(/at most 262144/);
    const proto = await rawRequest(corral.nc, "create", new TextEncoder().encode('{"metadata": {"__proto__": "x"}}'));
    expect(errorOf(proto)?.code).toBe("invalid_argument");
  });
});

describe("invalid_argument: validation comes before state", () => {
  let killedId: string;
  beforeAll(async () => {
    killedId = (await corral.client.create()).sandboxId;
    await corral.client.kill(killedId);
  });

  it.each([
    ["create", { timeoutMs: -1 }],
    ["create", { timeoutMs: 1.5 }],
    ["create", { timeoutMs: "60000" }],
    ["create", { timeoutMs: 86_400_001 }],
    ["create", { template: "no-such-template" }],
    ["create", { expiration: "never" }],
    ["create", { lifecycle: { onTimeout: "explode" } }],
    ["create", { lifecycle: { autoResume: true, extra: 1 } }],
    ["create", { resources: { gpu: 1 } }],
    ["create", { metadata: { k: 1 } }],
    ["create", { env: { "1BAD": "x" } }],
    ["create", { secure: "yes" }],
    ["create", { key: "" }],
    ["create", { unknown: true }],
    ["list", { limit: 0 }],
    ["list", { limit: 1001 }],
    ["list", { state: ["sleeping"] }],
    ["list", { cursor: "not-a-cursor!" }],
    ["get", { sandboxId: "UPPERCASEUPPERCASE12" }],
    ["get", {}],
  ])("%s %j", async (op, body) => {
    const reply = await rawRequest(corral.nc, op, body);
    expect(reply.status).toBe("400");
    expect(errorOf(reply)?.code).toBe("invalid_argument");
  });

  it("answers invalid_argument for a malformed body even on a killed sandbox or an unknown id", async () => {
    for (const sandboxId of [killedId, newSandboxId()]) {
      await expect(corral.client.setTimeout(sandboxId, -1)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(corral.client.refresh(sandboxId, 0)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(corral.client.refresh(sandboxId, 3_600_001)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(corral.client.resume(sandboxId, { timeoutMs: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(corral.client.connectSandbox(sandboxId, { timeoutMs: 86_400_001 })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(corral.client.request("kill", { sandboxId, reason: "timeout" })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
  });
});

describe("not_found, gone, conflict", () => {
  it("not_found for every op on an id that never existed", async () => {
    const id = newSandboxId();
    for (const call of [() => corral.client.get(id), () => corral.client.kill(id), () => corral.client.pause(id), () => corral.client.resume(id), () => corral.client.connectSandbox(id), () => corral.client.setTimeout(id, 1000), () => corral.client.refresh(id)]) {
      await expect(call()).rejects.toBeInstanceOf(NotFoundError);
    }
  });

  it("gone for pause/resume/connect/set_timeout/refresh on a killed sandbox; kill and get answer the tombstone", async () => {
    const sbx = await corral.client.create();
    const killed = await corral.client.kill(sbx.sandboxId);
    expect(killed).toMatchObject({ state: "killed", killReason: "request", endAt: null });
    for (const call of [() => corral.client.pause(sbx.sandboxId), () => corral.client.resume(sbx.sandboxId), () => corral.client.connectSandbox(sbx.sandboxId), () => corral.client.setTimeout(sbx.sandboxId, 1000), () => corral.client.refresh(sbx.sandboxId)]) {
      await expect(call()).rejects.toBeInstanceOf(GoneError);
    }
    expect(await corral.client.kill(sbx.sandboxId)).toEqual(killed);
    expect(await corral.client.get(sbx.sandboxId)).toEqual(killed);
  });

  it("a sandbox that is `killing`: get shows it, ops answer gone once their turn comes, a key create is conflict", async () => {
    const sbx = await corral.client.create({ key: "contract-killing" });
    const release = faults.hold("remove");
    const killing = corral.client.kill(sbx.sandboxId);
    await expect.poll(async () => (await corral.client.get(sbx.sandboxId)).state).toBe("killing");
    await expect(corral.client.create({ key: "contract-killing" })).rejects.toBeInstanceOf(ConflictError);
    const pause = corral.client.pause(sbx.sandboxId);
    const kill2 = corral.client.kill(sbx.sandboxId);
    release();
    await expect(pause).rejects.toBeInstanceOf(GoneError);
    expect((await killing).state).toBe("killed");
    expect((await kill2).state).toBe("killed");
  });

  it("conflict for set_timeout and refresh on a manual sandbox", async () => {
    const sbx = await corral.client.create({ expiration: "manual" });
    expect(sbx.endAt).toBeNull();
    await expect(corral.client.setTimeout(sbx.sandboxId, 1000)).rejects.toThrow(new ConflictError("sandbox has no automatic expiration"));
    await expect(corral.client.refresh(sbx.sandboxId)).rejects.toBeInstanceOf(ConflictError);
    await corral.client.kill(sbx.sandboxId);
  });
});

describe("capacity_exhausted, unavailable, internal", () => {
  it("capacity_exhausted names what each node is short of", async () => {
    const err = await corral.client.create({ resources: { memoryMB: 8192 } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CapacityExhaustedError);
    expect((err as Error).message).toContain(`node ${corral.node.nodeId}: needs 8192 MiB memory`);
  });

  it("unavailable with the driver's message when the start fails; the record is killed / start_failed", async () => {
    const err = await corral.client.create({ template: "broken", metadata: { case: "start-failed" } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    const [record] = (await corral.client.list({ state: ["killed"], metadata: { case: "start-failed" } })).items;
    expect(record).toMatchObject({ state: "killed", killReason: "start_failed", template: "broken" });
    expect(record!.error?.message).toBe((err as Error).message);
  });

  it("unavailable for every op routed to an owner that is down; get answers from the store", async () => {
    const other = await startNode({ natsUrl: corral.nats.url, prefix: "apicontract-b", driver: "process", capacity: { memoryMB: 65_536 } });
    try {
      // Only `other` has room for 8 GiB: the scheduler must place it there.
      const sbx = await corral.client.create({ resources: { memoryMB: 8192 } });
      expect(sbx.nodeId).toBe(other.nodeId);
      await other.stop();
      for (const call of [() => corral.client.kill(sbx.sandboxId), () => corral.client.pause(sbx.sandboxId), () => corral.client.resume(sbx.sandboxId), () => corral.client.connectSandbox(sbx.sandboxId), () => corral.client.setTimeout(sbx.sandboxId, 1000), () => corral.client.refresh(sbx.sandboxId)]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(UnavailableError);
        expect((err as Error).message).toContain(`owned by node ${other.nodeId}, which is unreachable`);
      }
      expect(await corral.client.get(sbx.sandboxId)).toEqual(stripCreate(sbx));
    } finally {
      await other.destroy();
    }
  });

  it("internal for a corrupt stored record, with the sandbox and revision named", async () => {
    const kv = await openSandboxBucket(corral.nc);
    const id = newSandboxId();
    await kv.put(id, new TextEncoder().encode("not msgpack at all"));
    const reply = await rawRequest(corral.nc, "get", { sandboxId: id });
    expect(reply.status).toBe("500");
    expect(errorOf(reply)).toMatchObject({ code: "internal" });
    expect(reply.errorMessage).toContain(id);
    await expect(corral.client.get(id)).rejects.toBeInstanceOf(InternalError);
    await kv.purge(id);
  });

  it("unavailable when no node is live (a serving process whose fleet is gone), and from the client when nobody serves", async () => {
    await corral.node.stop();
    const config = resolveConfig({}, {});
    const [store, nodes] = await Promise.all([SandboxStore.open(corral.nc, config), NodeRegistry.open(corral.nc, config)]);
    const service: Service = await startApiService({ nc: corral.nc, store, nodes, config, templates: new TemplateRegistry(), log: logger("test-api") }, "no-node");
    try {
      await expect(new CorralClient(corral.nc).create()).rejects.toThrow(/no live node/);
    } finally {
      await service.stop();
    }
    const err = await new CorralClient(corral.nc, { timeoutMs: 2_000 }).list().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/no Corral node serves the API/);
  });
});

/** The record part of a create reply. */
function stripCreate<T extends { created?: boolean; trafficToken?: string }>(reply: T): Omit<T, "created" | "trafficToken"> {
  const { created: _c, trafficToken: _t, ...record } = reply;
  return record;
}
