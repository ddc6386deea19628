// Node actor with the docker driver (issue 4): every transition of the
// machine exercised through the API and the node, with the container's real
// state checked by `docker inspect` after each. Error paths use a fault
// injecting wrapper around the real driver (test/helpers/faulty-driver.ts).
import type Docker from "dockerode";
import { beforeAll, describe, expect, it } from "vitest";
import type { CorralClient } from "../../src/client/client.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { useCorral } from "../helpers/corral.js";
import { containerState, requireDocker } from "../helpers/docker.js";
import { FaultyDriver } from "../helpers/faulty-driver.js";
import { waitUntil } from "../helpers/wait.js";

let docker: Docker;
let faults: FaultyDriver;
const corral = useCorral({
  prefix: "nodedocker",
  templates: [{ ...BASE_TEMPLATE, name: "broken", image: "corral/no-such-image:latest" }],
  wrapDriver: (real) => (faults = new FaultyDriver(real)),
});
const { events } = corral;
let client: CorralClient;

beforeAll(async () => {
  docker = await requireDocker();
  ({ client } = corral);
});

/** The container of a record, from the node's own view (the client record has no handle). */
async function handleOf(sandboxId: string): Promise<string> {
  const list = await docker.listContainers({ all: true, filters: { label: [`corral.sandbox-id=${sandboxId}`] } });
  expect(list).toHaveLength(1);
  return list[0]!.Id;
}

async function idOver(sandboxId: string): Promise<string> {
  const info = await docker.getContainer(await handleOf(sandboxId)).inspect();
  const ip = info.NetworkSettings.Networks.bridge!.IPAddress;
  const res = await fetch(`http://${ip}:8080/id`);
  return (await res.text()).trim();
}

function transitions(sandboxId: string): string[] {
  return events.filter((e) => e.sandboxId === sandboxId).map((e) => `${e.from ?? "-"}>${e.to}:${e.event}`);
}

async function settledEvents(sandboxId: string, count: number): Promise<string[]> {
  return waitUntil(() => transitions(sandboxId).length >= count && transitions(sandboxId), { what: `${count} events of ${sandboxId}` });
}

describe("node actor with the docker driver", () => {
  let sbx: SandboxRecord;

  it("create: starting -> running, a running container that answers GET /id", async () => {
    const created = await client.create({ timeoutMs: 600_000, metadata: { test: "node-docker" } });
    sbx = created;
    expect(created).toMatchObject({ state: "running", nodeId: corral.node.nodeId, created: true, timeoutMs: 600_000, killReason: null, error: null });
    expect(created.trafficToken).toMatch(/.{20,}/);
    expect(created.endAt).toBe(created.startedAt! + 600_000);
    expect(await containerState(docker, await handleOf(sbx.sandboxId))).toBe("running");
    expect(await idOver(sbx.sandboxId)).toBe(sbx.sandboxId);
    expect(await settledEvents(sbx.sandboxId, 2)).toEqual(["->starting:create", "starting>running:started"]);
  });

  it("pause: running -> pausing -> paused, the container frozen", async () => {
    const calls = faults.calls.pause;
    const paused = await client.pause(sbx.sandboxId);
    expect(faults.calls.pause).toBe(calls + 1);
    expect(paused).toMatchObject({ state: "paused", endAt: null });
    expect(await containerState(docker, await handleOf(sbx.sandboxId))).toBe("paused");
    expect((await settledEvents(sbx.sandboxId, 4)).slice(2)).toEqual(["running>pausing:pause", "pausing>paused:paused"]);
    // Already paused: a no-op with the same revision.
    expect((await client.pause(sbx.sandboxId)).revision).toBe(paused.revision);
  });

  it("resume: paused -> resuming -> running, a new deadline, the container answering again", async () => {
    const before = Date.now();
    const calls = faults.calls.resume;
    const resumed = await client.resume(sbx.sandboxId, { timeoutMs: 120_000 });
    expect(faults.calls.resume).toBe(calls + 1);
    expect(resumed).toMatchObject({ state: "running", timeoutMs: 120_000 });
    expect(resumed.startedAt!).toBeGreaterThanOrEqual(before);
    expect(resumed.endAt).toBe(resumed.startedAt! + 120_000);
    expect(await containerState(docker, await handleOf(sbx.sandboxId))).toBe("running");
    expect(await idOver(sbx.sandboxId)).toBe(sbx.sandboxId);
    expect((await settledEvents(sbx.sandboxId, 6)).slice(4)).toEqual(["paused>resuming:resume", "resuming>running:resumed"]);
  });

  it("set_timeout and refresh persist the deadline they answer with", async () => {
    const shortened = await client.setTimeout(sbx.sandboxId, 30_000);
    expect(shortened.endAt! - Date.now()).toBeLessThanOrEqual(30_000);
    expect((await client.get(sbx.sandboxId)).endAt).toBe(shortened.endAt);
    const refreshed = await client.refresh(sbx.sandboxId, 90_000);
    expect(refreshed.endAt!).toBeGreaterThan(shortened.endAt!);
    expect((await client.get(sbx.sandboxId)).revision).toBe(refreshed.revision);
    expect((await settledEvents(sbx.sandboxId, 8)).slice(6)).toEqual(["running>running:set_timeout", "running>running:refresh"]);
  });

  it("kill: running -> killing -> killed, the container removed, a tombstone kept", async () => {
    const handle = await handleOf(sbx.sandboxId);
    const killed = await client.kill(sbx.sandboxId);
    expect(killed).toMatchObject({ state: "killed", killReason: "request", endAt: null });
    expect(await containerState(docker, handle)).toBe("missing");
    expect((await settledEvents(sbx.sandboxId, 10)).slice(8)).toEqual(["running>killing:kill", "killing>killed:killed"]);
    expect(await client.get(sbx.sandboxId)).toMatchObject({ state: "killed", killReason: "request" });
    expect((await client.kill(sbx.sandboxId)).revision).toBe(killed.revision);
    await expect(client.pause(sbx.sandboxId)).rejects.toMatchObject({ code: "gone" });
  });

  it("start failure: starting -> killed (start_failed), the error kept, nothing left behind", async () => {
    const err = await client.create({ template: "broken" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: "unavailable" });
    const failed = await waitUntil(() => events.find((e) => e.event === "start_failed"), { what: "start_failed event" });
    expect(failed.record).toMatchObject({ state: "killed", killReason: "start_failed" });
    expect(failed.record.error?.message).toMatch(/no-such-image|image/i);
    const left = await docker.listContainers({ all: true, filters: { label: [`corral.sandbox-id=${failed.sandboxId}`] } });
    expect(left).toEqual([]);
  });

  it("pause failure: pausing -> running with the error recorded, then retried until paused", async () => {
    const s = await client.create({ timeoutMs: 600_000 });
    faults.failNext("pause");
    await expect(client.pause(s.sandboxId)).rejects.toMatchObject({ code: "unavailable", message: /injected pause failure/ });
    const afterFail = await client.get(s.sandboxId);
    expect(afterFail.error).toMatchObject({ op: "pause", message: expect.stringMatching(/injected/) });
    // The retry (backoff 500 ms) completes the pause the client asked for.
    await waitUntil(async () => (await client.get(s.sandboxId)).state === "paused", { what: "the retried pause", timeoutMs: 10_000 });
    expect(await containerState(docker, await handleOf(s.sandboxId))).toBe("paused");
    expect(await settledEvents(s.sandboxId, 6)).toEqual([
      "->starting:create",
      "starting>running:started",
      "running>pausing:pause",
      "pausing>running:pause_failed",
      "running>pausing:pause",
      "pausing>paused:paused",
    ]);

    faults.failNext("resume");
    await expect(client.resume(s.sandboxId)).rejects.toMatchObject({ code: "unavailable" });
    expect(await client.get(s.sandboxId)).toMatchObject({ state: "paused", error: { op: "resume" } });
    expect(await containerState(docker, await handleOf(s.sandboxId))).toBe("paused");
    expect((await settledEvents(s.sandboxId, 8)).slice(-2)).toEqual(["paused>resuming:resume", "resuming>paused:resume_failed"]);

    // Remove fails once: stays killing (error recorded), retried with backoff, then killed.
    const handle = await handleOf(s.sandboxId);
    faults.failNext("remove");
    const killed = await client.kill(s.sandboxId);
    expect(killed).toMatchObject({ state: "killed", killReason: "request" });
    expect(await containerState(docker, handle)).toBe("missing");
    // Events are broadcasts: the reply can arrive before the last one.
    await waitUntil(() => transitions(s.sandboxId).at(-1) === "killing>killed:killed", { what: "the killed event" });
    expect(transitions(s.sandboxId).slice(-3)).toEqual(["paused>killing:kill", "killing>killing:remove_failed", "killing>killed:killed"]);
  });

  it("a KILL during a pause waits for it, then kills", async () => {
    const s = await client.create({ timeoutMs: 600_000 });
    const release = faults.hold("pause");
    const pausing = client.pause(s.sandboxId);
    await waitUntil(() => transitions(s.sandboxId).includes("running>pausing:pause"), { what: "pausing" });
    const killing = client.kill(s.sandboxId);
    release();
    expect((await pausing).state).toBe("paused");
    expect(await killing).toMatchObject({ state: "killed", killReason: "request" });
    expect((await settledEvents(s.sandboxId, 6)).slice(2)).toEqual(["running>pausing:pause", "pausing>paused:paused", "paused>killing:kill", "killing>killed:killed"]);
    expect(await docker.listContainers({ all: true, filters: { label: [`corral.sandbox-id=${s.sandboxId}`] } })).toEqual([]);
  });

  it("timeouts act within 1 s of endAt: onTimeout kill removes, onTimeout pause freezes", async () => {
    const [toKill, toPause] = await Promise.all([
      client.create({ timeoutMs: 1_500 }),
      client.create({ timeoutMs: 1_500, lifecycle: { onTimeout: "pause" } }),
    ]);
    const pauseHandle = await handleOf(toPause.sandboxId);
    const killEvent = await waitUntil(() => events.find((e) => e.sandboxId === toKill.sandboxId && e.event === "timeout"), { what: "kill timeout", timeoutMs: 6_000 });
    const pauseEvent = await waitUntil(() => events.find((e) => e.sandboxId === toPause.sandboxId && e.event === "timeout"), { what: "pause timeout", timeoutMs: 6_000 });
    expect(killEvent.at - toKill.endAt!).toBeGreaterThanOrEqual(0);
    expect(killEvent.at - toKill.endAt!).toBeLessThan(1_000);
    expect(pauseEvent.at - toPause.endAt!).toBeLessThan(1_000);
    await waitUntil(async () => (await client.get(toKill.sandboxId)).state === "killed", { what: "killed" });
    expect(await client.get(toKill.sandboxId)).toMatchObject({ killReason: "timeout" });
    await waitUntil(async () => (await client.get(toPause.sandboxId)).state === "paused", { what: "paused" });
    expect(await containerState(docker, pauseHandle)).toBe("paused");
    await client.kill(toPause.sandboxId);
  });

  it("docker kill / docker rm -f behind corral's back: killed / container_exited within 2 s", async () => {
    const [a, b] = await Promise.all([client.create({ timeoutMs: 600_000 }), client.create({ timeoutMs: 600_000 })]);
    const [ha, hb] = [await handleOf(a.sandboxId), await handleOf(b.sandboxId)];
    const t0 = Date.now();
    await docker.getContainer(ha).kill();
    await docker.getContainer(hb).remove({ force: true });
    for (const s of [a, b]) {
      const killed = await waitUntil(() => events.find((e) => e.sandboxId === s.sandboxId && e.to === "killed"), { what: `${s.sandboxId} killed`, timeoutMs: 2_000 });
      expect(killed.record.killReason).toBe("container_exited");
      expect(killed.at - t0).toBeLessThan(2_000);
    }
    expect(await containerState(docker, ha)).toBe("missing");
  });
});
