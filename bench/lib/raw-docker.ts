/**
 * The Docker baseline shared by the driver and node suites: what a dockerode
 * user does by hand to get a base-template sandbox serving HTTP, with the same
 * image and container config (limits, labels for cleanup) as the driver's.
 */
import type Dockerode from "dockerode";
import { LABEL_NODE_ID, LABEL_SANDBOX_ID } from "../../src/drivers/labels.js";
import { newSandboxId, type SandboxId } from "../../src/ids.js";
import type { Resources } from "../../src/schema/record.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { waitHttpId } from "./http.js";
import { nowMs } from "./stats.js";

/** Resources of every benchmark sandbox (the API's defaults). */
export const BENCH_RESOURCES: Resources = { cpu: 1, memoryMB: 512 };
const MIB = 1024 * 1024;

/** `docker create` options of the base template, labelled with `nodeId` so `removeContainersOf` finds it. */
export function rawCreateBody(nodeId: string, sandboxId: SandboxId): Dockerode.ContainerCreateOptions {
  const { cpu, memoryMB } = BENCH_RESOURCES;
  return {
    name: `bench-raw-${sandboxId}`,
    Image: BASE_TEMPLATE.image,
    Labels: { [LABEL_SANDBOX_ID]: sandboxId, [LABEL_NODE_ID]: nodeId },
    Env: [`CORRAL_SANDBOX_ID=${sandboxId}`],
    HostConfig: { NanoCpus: cpu * 1e9, Memory: memoryMB * MIB, MemorySwap: memoryMB * MIB, PidsLimit: 256, NetworkMode: "bridge" },
  };
}

/** A raw container made by {@link rawCreateReady}. */
export interface RawSandbox {
  container: Dockerode.Container;
  host: string;
}

/** create -> start -> inspect (bridge address) -> GET /id until it answers the id. */
export async function rawCreateReady(docker: Dockerode, nodeId: string): Promise<{ ms: number; sandbox: RawSandbox }> {
  const id = newSandboxId();
  const t0 = nowMs();
  const container = await docker.createContainer(rawCreateBody(nodeId, id));
  await container.start();
  const host = (await container.inspect()).NetworkSettings.Networks.bridge!.IPAddress;
  await waitHttpId(host, BASE_TEMPLATE.readyPort, id);
  return { ms: nowMs() - t0, sandbox: { container, host } };
}

/**
 * dockerd updates a container's paused flag from containerd's event, after
 * the pause/unpause call has returned; an unpause (or pause) right behind it
 * can be refused with "is not paused" / "is (already) paused" while the flag lags (seen
 * under load, on both the raw and the driver side). A careful client waits
 * and retries; so does the bench, counting how often, and the retry's time
 * is part of the sample.
 */
export class DockerRaceRetry {
  /** Retries taken so far. */
  count = 0;

  /** Runs `step`, retrying up to 5 times (5 ms apart) while the engine reports the lagging-flag race. */
  async run(step: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await step();
        return;
      } catch (err) {
        if (attempt >= 5 || !/is (not |already )?paused/.test((err as Error).message)) throw err;
        this.count++;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }
}
