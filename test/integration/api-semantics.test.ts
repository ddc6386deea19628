// What the API's operations do (issue 5; DESIGN.md "Lifecycle" deadline rules
// and "Exact behaviours"): key idempotency (concurrent creates, a killed
// key), list ordering/paging/filters/tombstones, set_timeout / refresh /
// connect on running, paused and manual sandboxes, the lifetime ceiling, and
// env reaching the sandbox, and every example of docs/api.md. Real nats-server, a real node with the process
// driver; every persisted value is re-read from the service.
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createDriver } from "../../src/drivers/create.js";
import type { SandboxId } from "../../src/ids.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { rawRequest } from "../helpers/api.js";
import { useCorral } from "../helpers/corral.js";

const LIFETIME_MS = 3_600_000;
const corral = useCorral({
  prefix: "apisem",
  driver: "process",
  config: { maxLifetimeMs: LIFETIME_MS },
  templates: [
    {
      ...BASE_TEMPLATE,
      name: "envecho",
      // Serves $MODE at GET /mode: proves `env` reaches the sandbox's processes.
      processCommand: ["busybox", "sh", "-c", 'printf %s "$MODE" > {dir}/www/mode && exec busybox httpd -f -p 127.0.0.1:{port} -h {dir}/www'],
    },
  ],
});

/** How many live processes the driver runs for this sandbox (the engine's view, not the record's). */
async function instancesOf(sandboxId: string): Promise<number> {
  const driver = createDriver("process", { dataDir: corral.node.dataDir });
  try {
    return (await driver.list(corral.node.nodeId)).filter((i) => i.sandboxId === sandboxId && i.state !== "exited").length;
  } finally {
    await driver.close();
  }
}

describe("key idempotency", () => {
  it("the same key names the same sandbox: created false, no token, no write", async () => {
    const first = await corral.client.create({ key: "thread-1", timeoutMs: 120_000 });
    expect(first).toMatchObject({ created: true, state: "running" });
    expect(first.trafficToken).toBeTypeOf("string");
    const again = await corral.client.create({ key: "thread-1" });
    expect(again).toMatchObject({ sandboxId: first.sandboxId, created: false, state: "running", revision: first.revision, endAt: first.endAt });
    expect(again).not.toHaveProperty("trafficToken");
  });

  it("a paused sandbox of the key is resumed", async () => {
    const sbx = await corral.client.create({ key: "thread-2" });
    await corral.client.pause(sbx.sandboxId);
    const again = await corral.client.create({ key: "thread-2" });
    expect(again).toMatchObject({ sandboxId: sbx.sandboxId, created: false, state: "running" });
    expect(again.startedAt!).toBeGreaterThan(sbx.startedAt!);
  });

  it("concurrent creates with one key all get the same sandbox, and one process runs", async () => {
    const replies = await Promise.all(Array.from({ length: 8 }, () => corral.client.create({ key: "thread-concurrent" })));
    const ids = new Set(replies.map((r) => r.sandboxId));
    expect(ids.size).toBe(1);
    expect(replies.filter((r) => r.created)).toHaveLength(1);
    expect(replies.filter((r) => r.trafficToken)).toHaveLength(1);
    expect(replies.every((r) => r.state === "running")).toBe(true);
    const [id] = [...ids];
    expect(await instancesOf(id!)).toBe(1);
    expect(corral.events.filter((e) => e.sandboxId === id && e.event === "create")).toHaveLength(1);
  });

  it("the key of a killed sandbox starts a new incarnation under the same id", async () => {
    const first = await corral.client.create({ key: "thread-3" });
    await corral.client.kill(first.sandboxId);
    const second = await corral.client.create({ key: "thread-3" });
    expect(second).toMatchObject({ sandboxId: first.sandboxId, created: true, state: "running", killReason: null });
    expect(second.trafficToken).not.toBe(first.trafficToken);
    expect(second.createdAt).toBeGreaterThanOrEqual(first.createdAt);
    expect(second.revision).toBeGreaterThan(first.revision);
    expect(await instancesOf(first.sandboxId)).toBe(1);
  });
});

describe("list", () => {
  const run = `run-${Date.now()}`;
  const created: string[] = [];

  beforeAll(async () => {
    for (let i = 0; i < 5; i++) created.push((await corral.client.create({ metadata: { suite: "list", run, i: String(i) } })).sandboxId);
  });

  it("orders newest first and pages with a cursor; the last page has nextCursor null", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await corral.client.list({ metadata: { run }, limit: 2, ...(cursor ? { cursor } : {}) });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((r) => r.sandboxId));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());
  });

  it("filters by state and metadata; killed tombstones only when asked for", async () => {
    await corral.client.pause(created[1]!);
    await corral.client.kill(created[2]!);
    const paused = await corral.client.list({ metadata: { run }, state: ["paused"] });
    expect(paused.items.map((r) => r.sandboxId)).toEqual([created[1]]);
    const live = await corral.client.list({ metadata: { run } });
    expect(live.items.map((r) => r.sandboxId)).not.toContain(created[2]);
    expect(live.items).toHaveLength(4);
    const killed = await corral.client.list({ metadata: { run }, state: ["killed"] });
    expect(killed.items.map((r) => r.sandboxId)).toEqual([created[2]]);
    const both = await corral.client.list({ metadata: { run, i: "2" }, state: ["killed", "running"] });
    expect(both.items.map((r) => r.sandboxId)).toEqual([created[2]]);
    expect((await corral.client.list({ metadata: { run: "nobody" } })).items).toEqual([]);
  });
});

describe("set_timeout", () => {
  it("sets endAt = now + timeoutMs (may shorten) and answers the persisted record", async () => {
    const sbx = await corral.client.create({ timeoutMs: 600_000 });
    const before = Date.now();
    const shorter = await corral.client.setTimeout(sbx.sandboxId, 30_000);
    expect(shorter.endAt!).toBeGreaterThanOrEqual(before + 30_000);
    expect(shorter.endAt!).toBeLessThanOrEqual(Date.now() + 30_000);
    expect(shorter.timeoutMs).toBe(30_000);
    expect(await corral.client.get(sbx.sandboxId)).toEqual(shorter);
    expect(corral.events.find((e) => e.sandboxId === sbx.sandboxId && e.revision === shorter.revision)).toMatchObject({ from: "running", to: "running", event: "set_timeout" });
  });

  it("never passes startedAt + maxLifetimeMs", async () => {
    const sbx = await corral.client.create();
    const capped = await corral.client.setTimeout(sbx.sandboxId, 86_400_000);
    expect(capped.endAt).toBe(capped.startedAt! + LIFETIME_MS);
  });

  it("0 expires the sandbox now: the node kills it with reason timeout", async () => {
    const sbx = await corral.client.create();
    await corral.client.setTimeout(sbx.sandboxId, 0);
    await expect.poll(async () => (await corral.client.get(sbx.sandboxId)).killReason, { timeout: 3_000 }).toBe("timeout");
  });

  it("on a paused sandbox stores timeoutMs for the next resume, endAt stays null", async () => {
    const sbx = await corral.client.create();
    await corral.client.pause(sbx.sandboxId);
    const stored = await corral.client.setTimeout(sbx.sandboxId, 45_000);
    expect(stored).toMatchObject({ state: "paused", endAt: null, timeoutMs: 45_000 });
    const resumed = await corral.client.resume(sbx.sandboxId);
    expect(resumed.endAt).toBe(resumed.startedAt! + 45_000);
  });
});

describe("refresh", () => {
  it("without durationMs extends to now + 60000", async () => {
    const sbx = await corral.client.create({ timeoutMs: 10_000 });
    const before = Date.now();
    const refreshed = await corral.client.refresh(sbx.sandboxId);
    expect(refreshed.endAt!).toBeGreaterThanOrEqual(before + 60_000);
    expect(refreshed.timeoutMs).toBe(10_000);
    expect((await corral.client.get(sbx.sandboxId)).endAt).toBe(refreshed.endAt);
  });

  it("only extends: a shorter duration keeps endAt", async () => {
    const sbx = await corral.client.create({ timeoutMs: 600_000 });
    const refreshed = await corral.client.refresh(sbx.sandboxId, 1_000);
    expect(refreshed.endAt).toBe(sbx.endAt);
  });

  it("is a no-op on a paused sandbox (same revision)", async () => {
    const sbx = await corral.client.create();
    const paused = await corral.client.pause(sbx.sandboxId);
    expect(await corral.client.refresh(sbx.sandboxId, 120_000)).toEqual(paused);
  });
});

describe("pause, resume, connect", () => {
  it("pause on paused and resume on running reply with the unchanged record", async () => {
    const sbx = await corral.client.create();
    expect(await corral.client.resume(sbx.sandboxId)).toMatchObject({ revision: sbx.revision, state: "running" });
    const paused = await corral.client.pause(sbx.sandboxId);
    expect(paused).toMatchObject({ state: "paused", endAt: null });
    expect(await corral.client.pause(sbx.sandboxId)).toEqual(paused);
    const resumed = await corral.client.resume(sbx.sandboxId, { timeoutMs: 90_000 });
    expect(resumed).toMatchObject({ state: "running", timeoutMs: 90_000 });
    expect(resumed.endAt).toBe(resumed.startedAt! + 90_000);
  });

  it("connect resumes a paused sandbox and on a running one only extends", async () => {
    const sbx = await corral.client.create({ timeoutMs: 30_000 });
    const extended = await corral.client.connectSandbox(sbx.sandboxId, { timeoutMs: 120_000 });
    expect(extended.resumed).toBe(false);
    expect(extended.sandbox.endAt!).toBeGreaterThanOrEqual(sbx.endAt! + 90_000 - 1_000);
    // A shorter timeout never shortens: no write at all.
    expect((await corral.client.connectSandbox(sbx.sandboxId, { timeoutMs: 1_000 })).sandbox.revision).toBe(extended.sandbox.revision);
    await corral.client.pause(sbx.sandboxId);
    const resumed = await corral.client.connectSandbox(sbx.sandboxId);
    expect(resumed).toMatchObject({ resumed: true, sandbox: { state: "running" } });
  });

  it("manual sandboxes keep endAt null through pause, resume and connect", async () => {
    const sbx = await corral.client.create({ expiration: "manual", timeoutMs: 5_000 });
    expect(await corral.client.connectSandbox(sbx.sandboxId)).toEqual({ resumed: false, sandbox: expect.objectContaining({ revision: sbx.revision }) });
    await corral.client.pause(sbx.sandboxId);
    const resumed = await corral.client.resume(sbx.sandboxId);
    expect(resumed).toMatchObject({ state: "running", endAt: null, expiration: "manual", timeoutMs: 5_000 });
  });
});

describe("create options", () => {
  it("keeps lifecycle, metadata and resources as asked, and passes env to the sandbox's processes", async () => {
    const sbx = await corral.client.create({
      template: "envecho",
      lifecycle: { onTimeout: "pause", autoResume: true, idle: true },
      metadata: { user: "alice" },
      env: { MODE: "dev" },
      resources: { cpu: 0.5, memoryMB: 256 },
      secure: false,
    });
    expect(sbx).toMatchObject({ template: "envecho", lifecycle: { onTimeout: "pause", autoResume: true, idle: true }, metadata: { user: "alice" }, resources: { cpu: 0.5, memoryMB: 256 } });
    const store = await SandboxStore.open(corral.nc, corral.node.config);
    const endpoint = (await store.get(sbx.sandboxId as SandboxId))!.internal.endpoint!;
    const res = await fetch(`http://${endpoint.host}:${endpoint.ports["8080"]}/mode`);
    expect(await res.text()).toBe("dev");
  });
});

describe("docs/api.md", () => {
  it("every `nats req` example on the page succeeds against the service", async () => {
    const doc = fs.readFileSync(path.resolve(import.meta.dirname, "../../docs/api.md"), "utf8");
    const examples = [...doc.matchAll(/^nats req '?([^'\s]+)'? +'(.*)'/gm)].map((m) => ({ subject: m[1]!, body: m[2]! }));
    expect(examples.length).toBeGreaterThanOrEqual(15);
    const { nextCursor } = await corral.client.list({ limit: 1, state: ["killed"] });
    expect(nextCursor).not.toBeNull();
    for (const { subject, body } of examples) {
      // A fresh sandbox per example that names one, so a kill does not answer the next example.
      const id = body.includes("<id>") ? (await corral.client.create()).sandboxId : "";
      const filled = body.replaceAll("<id>", id).replace("<nextCursor of the previous page>", nextCursor!);
      const reply = await rawRequest(corral.nc, subject, new TextEncoder().encode(filled));
      expect(reply.status, `${subject} ${filled}: ${JSON.stringify(reply.body)}`).toBeNull();
    }
  });
});
