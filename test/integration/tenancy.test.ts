// Tenants in the API (issue 17; DESIGN.md "Security", Tenants): a request on
// `corral.v1.tenant.<T>.sandbox.<op>` acts as tenant T. Its creates carry
// `tenant: T`; `list` shows only T's sandboxes; get/kill/pause/... of another
// tenant's or an untenanted sandbox answer `not_found`; T's events also go
// out on `corral.v1.tenant.<T>.events.sandbox.<id>` with the public record.
// The plain subjects act as admin. Real nats-server, a real node (process driver).
import type { Subscription } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMsgpack } from "../../src/codec.js";
import type { SandboxId } from "../../src/ids.js";
import { API_OPS, subjects, type ApiOp } from "../../src/subjects.js";
import { errorOf, rawRequest, type RawReply } from "../helpers/api.js";
import { useCorral } from "../helpers/corral.js";
import { waitUntil } from "../helpers/wait.js";

const corral = useCorral({ prefix: "tenancy", driver: "process" });

interface Rec {
  sandboxId: string;
  state: string;
  tenant: string | null;
}

const asTenant = (tenant: string, op: ApiOp, body: unknown): Promise<RawReply> => rawRequest(corral.nc, subjects.tenantApi(tenant, op), body, { timeoutMs: 30_000 });
const asAdmin = (op: ApiOp, body: unknown): Promise<RawReply> => rawRequest(corral.nc, subjects.api(op), body, { timeoutMs: 30_000 });
const ok = (reply: RawReply): Rec => {
  expect(reply.status, JSON.stringify(reply.body)).toBeNull();
  return reply.body as Rec;
};
const listIds = async (reply: Promise<RawReply>): Promise<string[]> => (ok(await reply) as unknown as { items: Rec[] }).items.map((r) => r.sandboxId).sort();

describe("tenant scoping", () => {
  let a: Rec;
  let b: Rec;
  let admin: Rec;
  const eventsOfA: { subject: string; record: Record<string, unknown> }[] = [];
  let subA: Subscription;

  beforeAll(async () => {
    subA = corral.nc.subscribe(subjects.tenantAllSandboxEvents("acme"), {
      callback: (_err, msg) => {
        eventsOfA.push({ subject: msg.subject, record: (decodeMsgpack(msg.data) as { record: Record<string, unknown> }).record });
      },
    });
    await corral.nc.flush();
    a = ok(await asTenant("acme", "create", { secure: false }));
    b = ok(await asTenant("globex", "create", { secure: false }));
    admin = ok(await asAdmin("create", { secure: false }));
  });
  afterAll(() => subA.unsubscribe());

  it("create records the tenant of the subject (admin: null)", async () => {
    expect([a.tenant, b.tenant, admin.tenant]).toEqual(["acme", "globex", null]);
    expect(ok(await asAdmin("get", { sandboxId: a.sandboxId })).tenant).toBe("acme");
  });

  it("list shows a tenant only its own sandboxes; admin sees all", async () => {
    expect(await listIds(asTenant("acme", "list", {}))).toEqual([a.sandboxId]);
    expect(await listIds(asTenant("globex", "list", {}))).toEqual([b.sandboxId]);
    expect(await listIds(asTenant("initech", "list", {}))).toEqual([]);
    expect(await listIds(asAdmin("list", {}))).toEqual([a.sandboxId, b.sandboxId, admin.sandboxId].sort());
  });

  it("every op on another tenant's or an untenanted sandbox is not_found, and changes nothing", async () => {
    const bodies: Record<Exclude<ApiOp, "create" | "list">, (id: string) => unknown> = {
      get: (id) => ({ sandboxId: id }),
      kill: (id) => ({ sandboxId: id }),
      pause: (id) => ({ sandboxId: id }),
      resume: (id) => ({ sandboxId: id }),
      connect: (id) => ({ sandboxId: id }),
      set_timeout: (id) => ({ sandboxId: id, timeoutMs: 1_000 }),
      refresh: (id) => ({ sandboxId: id }),
    };
    expect(Object.keys(bodies).length).toBe(API_OPS.length - 2);
    for (const [op, body] of Object.entries(bodies)) {
      for (const target of [b, admin]) {
        const reply = await asTenant("acme", op as ApiOp, body(target.sandboxId));
        expect([op, reply.status, errorOf(reply)?.code]).toEqual([op, "404", "not_found"]);
      }
    }
    for (const target of [b, admin]) expect(ok(await asAdmin("get", { sandboxId: target.sandboxId })).state).toBe("running");
  });

  it("a tenant acts on its own sandbox; its events reach its tenant subject without internal fields", async () => {
    expect(ok(await asTenant("acme", "get", { sandboxId: a.sandboxId })).state).toBe("running");
    expect(ok(await asTenant("acme", "kill", { sandboxId: a.sandboxId })).state).toBe("killed");
    await waitUntil(() => eventsOfA.some((e) => e.record.state === "killed"), { timeoutMs: 10_000, what: "acme's killed event" });
    expect(new Set(eventsOfA.map((e) => e.subject))).toEqual(new Set([subjects.tenantSandboxEvents("acme", a.sandboxId as SandboxId)]));
    expect(eventsOfA.every((e) => !("internal" in e.record) && e.record.tenant === "acme")).toBe(true);
    expect(eventsOfA.map((e) => e.record.state)).toContain("running");
  });

  it("an admin acts on a tenant's sandbox", async () => {
    expect(ok(await asAdmin("kill", { sandboxId: b.sandboxId })).state).toBe("killed");
  });

  it("keys are per tenant: one key names different sandboxes for two tenants and the admin", async () => {
    const x = ok(await asTenant("acme", "create", { key: "thread-1", secure: false }));
    const y = ok(await asTenant("globex", "create", { key: "thread-1", secure: false }));
    const z = ok(await asAdmin("create", { key: "thread-1", secure: false }));
    expect(new Set([x.sandboxId, y.sandboxId, z.sandboxId]).size).toBe(3);
    expect(ok(await asTenant("acme", "create", { key: "thread-1", secure: false })).sandboxId).toBe(x.sandboxId);
    for (const r of [x, y, z]) ok(await asAdmin("kill", { sandboxId: r.sandboxId }));
  });

  it("a malformed tenant name on the subject is invalid_argument", async () => {
    const reply = await asTenant("Bad_Upper", "list", {});
    expect([reply.status, errorOf(reply)?.code]).toEqual(["400", "invalid_argument"]);
  });
});
