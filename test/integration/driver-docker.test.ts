// The docker driver against the real engine and the local corral/base image:
// every operation is checked with `docker inspect`, not with the driver's own view.
import type Docker from "dockerode";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, it } from "vitest";
import type { DockerDriver } from "../../src/drivers/docker.js";
import { DriverError } from "../../src/drivers/errors.js";
import type { DriverEvent, SandboxSpec } from "../../src/drivers/types.js";
import { newClusterId, newSandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { containerState, containersOf, getId, testNodeId } from "../helpers/docker.js";
import { useDockerDriver } from "../helpers/docker-driver.js";
import { waitUntil } from "../helpers/wait.js";

const run = promisify(execFile);
const fx = useDockerDriver("drvdock");
const { nodeId, clusterId } = fx;
let docker: Docker;
let driver: DockerDriver;
beforeAll(() => void ({ docker, driver } = fx));

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return {
    sandboxId: newSandboxId(),
    nodeId,
    clusterId,
    template: BASE_TEMPLATE,
    env: { GREETING: "hello" },
    resources: { cpu: 0.5, memoryMB: 64 },
    incarnation: 1,
    ...overrides,
  };
}

describe("DockerDriver", () => {
  it("starts a labelled, limited container that answers /id, and pauses/resumes/removes it in both modes", async () => {
    const s = spec();
    const t0 = performance.now();
    const started = await driver.start(s);
    const startMs = performance.now() - t0;

    const info = await docker.getContainer(started.handle).inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Name).toBe(`/corral-${clusterId}-${s.sandboxId}-1`);
    expect(info.Config.Labels).toMatchObject({
      "corral.sandbox-id": s.sandboxId,
      "corral.cluster": clusterId,
      "corral.node-id": nodeId,
      "corral.incarnation": "1",
      "corral.template": "base",
    });
    expect(info.Config.Env).toEqual(expect.arrayContaining(["GREETING=hello", `CORRAL_SANDBOX_ID=${s.sandboxId}`]));
    expect(info.HostConfig.NanoCpus).toBe(500_000_000);
    expect(info.HostConfig.Memory).toBe(64 * 1024 * 1024);
    expect(info.HostConfig.PidsLimit).toBe(256);
    expect(info.HostConfig.PortBindings ?? {}).toEqual({});
    expect(started.endpoint).toEqual({ host: info.NetworkSettings.Networks.bridge!.IPAddress, ports: {} });
    expect(await getId(started.endpoint.host)).toBe(s.sandboxId);

    // freeze
    let t = performance.now();
    await driver.pause(started.handle, "freeze");
    const pauseMs = performance.now() - t;
    expect(await containerState(docker, started.handle)).toBe("paused");
    await expect(getId(started.endpoint.host, 300)).rejects.toThrow();
    await driver.pause(started.handle, "freeze"); // idempotent
    expect((await driver.inspect(started.handle))?.state).toBe("paused");
    t = performance.now();
    const resumed = await driver.resume(started.handle, "freeze");
    const resumeMs = performance.now() - t;
    expect(await containerState(docker, started.handle)).toBe("running");
    expect(await getId(resumed.host)).toBe(s.sandboxId);
    expect(await driver.resume(started.handle, "freeze")).toEqual(resumed); // idempotent on a running one

    // stop: the container gives its address back (the node then drops the endpoint from the paused record)
    expect([driver.keepsEndpointWhenPaused("freeze"), driver.keepsEndpointWhenPaused("stop")]).toEqual([true, false]);
    await driver.pause(started.handle, "stop");
    expect(await containerState(docker, started.handle)).toBe("exited");
    expect((await driver.inspect(started.handle))?.state).toBe("stopped");
    await driver.pause(started.handle, "stop"); // idempotent
    const afterStop = await driver.resume(started.handle, "stop");
    expect(await containerState(docker, started.handle)).toBe("running");
    expect((await docker.getContainer(started.handle).inspect()).Name).toBe(`/corral-${clusterId}-${s.sandboxId}-1`);
    expect(await getId(afterStop.host)).toBe(s.sandboxId);

    t = performance.now();
    await driver.remove(started.handle);
    const removeMs = performance.now() - t;
    expect(await containerState(docker, started.handle)).toBe("missing");
    await driver.remove(started.handle); // idempotent
    expect(await driver.inspect(started.handle)).toBeNull();
    console.log(`driver-docker timings: start→ready ${startMs.toFixed(0)} ms, pause ${pauseMs.toFixed(1)} ms, resume ${resumeMs.toFixed(1)} ms, remove ${removeMs.toFixed(0)} ms`);
  });

  it("inspects and lists by node id, and replaces a stale container of a crashed attempt", async () => {
    const a = spec();
    const stale = await docker.createContainer({
      name: `corral-${clusterId}-${a.sandboxId}-1`,
      Image: BASE_TEMPLATE.image,
      Labels: { "corral.sandbox-id": a.sandboxId, "corral.cluster": clusterId, "corral.node-id": nodeId },
    });
    const started = await driver.start(a);
    expect(started.handle).not.toBe(stale.id);
    expect(await containerState(docker, stale.id)).toBe("missing");

    const b = await driver.start(spec());
    await driver.pause(b.handle, "freeze");
    const listed = await driver.list(nodeId);
    const byHandle = new Map(listed.map((i) => [i.handle, i]));
    expect(byHandle.get(started.handle)).toEqual({ handle: started.handle, sandboxId: a.sandboxId, nodeId, clusterId, incarnation: 1, state: "running", endpoint: started.endpoint });
    expect(byHandle.get(b.handle)?.state).toBe("paused");
    expect(await driver.inspect(started.handle)).toEqual(byHandle.get(started.handle));
    expect(await driver.list(testNodeId("nobody"))).toEqual([]);

    // A foreign container under our name is never removed: not Corral's, nor another cluster's.
    const foreignId = newSandboxId();
    const name = `corral-${clusterId}-${foreignId}-1`;
    const foreign = await docker.createContainer({ name, Image: BASE_TEMPLATE.image, Labels: { "corral.node-id": nodeId } });
    const err = await driver.start(spec({ sandboxId: foreignId })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect((err as DriverError).reason).toBe("name_conflict");
    expect(await containerState(docker, foreign.id)).toBe("created");
    await driver.remove(foreign.id);
    const otherCluster = await docker.createContainer({
      name,
      Image: BASE_TEMPLATE.image,
      Labels: { "corral.sandbox-id": foreignId, "corral.cluster": newClusterId(), "corral.node-id": nodeId },
    });
    const err2 = await driver.start(spec({ sandboxId: foreignId })).catch((e: unknown) => e);
    expect((err2 as DriverError).reason).toBe("name_conflict");
    expect(await containerState(docker, otherCluster.id)).toBe("created");

    await Promise.all([driver.remove(started.handle), driver.remove(b.handle), driver.remove(otherCluster.id)]);
  });

  it("lists and watches only its cluster's containers (and unlabelled ones) when given a cluster scope", async () => {
    const other = newClusterId();
    const mine = await driver.start(spec());
    const theirs = await driver.start(spec({ clusterId: other }));
    const legacyId = newSandboxId();
    const legacy = await docker.createContainer({
      name: `corral-${legacyId}-1`,
      Image: BASE_TEMPLATE.image,
      Labels: { "corral.sandbox-id": legacyId, "corral.node-id": nodeId, "corral.incarnation": "1" },
    });
    const events: DriverEvent[] = [];
    const stop = driver.watch({ nodeId, clusterId }, (e) => events.push(e));
    try {
      const scoped = new Map((await driver.list({ nodeId, clusterId })).map((i) => [i.handle, i.clusterId]));
      expect(scoped.get(mine.handle)).toBe(clusterId);
      expect(scoped.get(legacy.id)).toBeNull();
      expect(scoped.has(theirs.handle)).toBe(false);
      expect(new Set((await driver.list({ nodeId, clusterId: other })).map((i) => i.handle))).toEqual(new Set([theirs.handle, legacy.id]));
      // A bare node id is every cluster's (cleanup tools).
      expect((await driver.list(nodeId)).map((i) => i.handle)).toEqual(expect.arrayContaining([mine.handle, theirs.handle, legacy.id]));

      await run("docker", ["kill", theirs.handle]);
      await run("docker", ["kill", mine.handle]);
      // Events are delivered in order: once mine is seen, theirs would have been too.
      await waitUntil(() => events.find((e) => e.handle === mine.handle), { what: "exited event of own container", timeoutMs: 5_000, intervalMs: 5 });
      expect(events.filter((e) => e.handle === theirs.handle)).toEqual([]);
    } finally {
      stop();
      await Promise.all([driver.remove(mine.handle), driver.remove(theirs.handle), driver.remove(legacy.id)]);
    }
  });

  it("fails a start with a missing image clearly and leaves no container", async () => {
    const s = spec({ template: { ...BASE_TEMPLATE, name: "nope", image: "corral/does-not-exist:latest" } });
    const err = await driver.start(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ code: "unavailable", op: "start", reason: "image_missing", retryable: false });
    expect((err as Error).message).toBe("start failed: image corral/does-not-exist:latest not found");
    const left = (await containersOf(docker, nodeId)).filter((c) => c.Labels["corral.sandbox-id"] === s.sandboxId);
    expect(left).toEqual([]);
  });

  it("fails a start that is never ready with a timeout DriverError and removes the container", async () => {
    // Nothing listens on 9999 in the base image.
    const s = spec({ template: { ...BASE_TEMPLATE, name: "deaf", readyPort: 9999, readyTimeoutMs: 600 } });
    const t0 = Date.now();
    const err = await driver.start(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ op: "start", reason: "timeout", message: "start failed: port 9999 not ready within 600 ms" });
    expect(Date.now() - t0).toBeLessThan(5_000);
    const left = (await containersOf(docker, nodeId)).filter((c) => c.Labels["corral.sandbox-id"] === s.sandboxId);
    expect(left).toEqual([]);
  });

  it("reports docker kill and docker rm -f done behind its back within 2 s, but not its own stop-mode pause", async () => {
    const events: DriverEvent[] = [];
    const stop = driver.watch(nodeId, (e) => events.push(e));
    try {
      const killed = await driver.start(spec());
      const stopped = await driver.start(spec());
      const removed = await driver.start(spec());

      await driver.pause(stopped.handle, "stop");

      let t0 = Date.now();
      await run("docker", ["kill", killed.handle]);
      const exited = await waitUntil(() => events.find((e) => e.handle === killed.handle && e.type === "exited"), { what: "exited event", timeoutMs: 2_000, intervalMs: 5 });
      const killLatencyMs = Date.now() - t0;

      t0 = Date.now();
      await run("docker", ["rm", "-f", removed.handle]);
      await waitUntil(() => events.find((e) => e.handle === removed.handle && e.type === "removed"), { what: "removed event", timeoutMs: 2_000, intervalMs: 5 });
      const rmLatencyMs = Date.now() - t0;

      expect(killLatencyMs).toBeLessThan(2_000);
      expect(rmLatencyMs).toBeLessThan(2_000);
      expect(exited.sandboxId).toMatch(/^[a-z0-9]{20}$/);
      expect(events.filter((e) => e.handle === stopped.handle)).toEqual([]);
      console.log(`driver-docker watch: docker kill → event ${killLatencyMs} ms, docker rm -f → event ${rmLatencyMs} ms`);
      await Promise.all([driver.remove(killed.handle), driver.remove(stopped.handle)]);
    } finally {
      stop();
    }
  });
});
