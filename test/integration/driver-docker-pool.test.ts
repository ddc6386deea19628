// The docker driver's warm-pool primitives against the real engine: a member
// is labelled as one, frozen, and a claim gives it a new id that its already
// running main process answers on GET /id (checked over HTTP and inspect).
import type Docker from "dockerode";
import { beforeAll, describe, expect, it } from "vitest";
import type { DockerDriver } from "../../src/drivers/docker.js";
import { DriverError } from "../../src/drivers/errors.js";
import type { SandboxSpec } from "../../src/drivers/types.js";
import { newSandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { getId } from "../helpers/docker.js";
import { useDockerDriver } from "../helpers/docker-driver.js";

const fx = useDockerDriver("drvpool");
const { nodeId, clusterId } = fx;
let docker: Docker;
let driver: DockerDriver;
beforeAll(() => void ({ docker, driver } = fx));

function memberSpec(): SandboxSpec {
  const memberId = newSandboxId();
  return { sandboxId: memberId, nodeId, clusterId, template: BASE_TEMPLATE, env: {}, resources: { cpu: 0.5, memoryMB: 64 }, incarnation: 1, poolMember: memberId };
}

describe("DockerDriver warm-pool member", () => {
  it("is labelled corral.pool-member, and a claim of the frozen member answers the new id on /id", async () => {
    const spec = memberSpec();
    const started = await driver.start(spec);
    expect(await getId(started.endpoint.host)).toBe(spec.sandboxId);
    await driver.pause(started.handle, "freeze");
    expect((await docker.getContainer(started.handle).inspect()).State.Paused).toBe(true);
    expect(await driver.inspect(started.handle)).toMatchObject({ poolMember: spec.sandboxId, state: "paused" });

    const sandboxId = newSandboxId();
    const endpoint = await driver.claimMember(started.handle, sandboxId, "/www/id");
    expect(endpoint).toEqual(started.endpoint);
    const info = await docker.getContainer(started.handle).inspect();
    expect(info.State.Running && !info.State.Paused).toBe(true);
    // Labels cannot change: the claimed container still says which member it was.
    expect(info.Config.Labels).toMatchObject({ "corral.pool-member": spec.sandboxId, "corral.node-id": nodeId, "corral.cluster": clusterId });
    expect(await getId(endpoint.host)).toBe(sandboxId);
    const listed = (await driver.list({ clusterId, nodeId })).find((i) => i.handle === started.handle);
    expect(listed?.poolMember).toBe(spec.sandboxId);
    await driver.remove(started.handle);
  });

  it("a sandbox started cold carries no pool-member label", async () => {
    const { poolMember: _unused, ...spec } = memberSpec();
    const started = await driver.start(spec);
    const instance = await driver.inspect(started.handle);
    expect(instance?.poolMember).toBeUndefined();
    expect((await docker.getContainer(started.handle).inspect()).Config.Labels).not.toHaveProperty("corral.pool-member");
    await driver.remove(started.handle);
  });

  it("claiming a member that is gone fails as a DriverError", async () => {
    await expect(driver.claimMember("0".repeat(64), newSandboxId(), "/www/id")).rejects.toBeInstanceOf(DriverError);
  });
});
