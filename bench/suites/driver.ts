/**
 * driver: the docker driver (src/drivers/docker.ts) against raw dockerode,
 * same engine, same image, same container config, interleaved.
 * - create: raw createContainer -> start -> inspect (address) -> GET /id until
 *   it answers the id, vs `DockerDriver.start` (create, start, inspect, TCP
 *   readiness) followed by the same GET /id. Both end when the sandbox serves HTTP.
 * - pause / resume: raw `docker pause` / `unpause` vs `pause(handle, "freeze")`
 *   / `resume(handle, "freeze")`, each on its own running container.
 * - remove: raw `remove --force` vs `DockerDriver.remove`, on the containers
 *   the create rounds left.
 * Targets are the node's (issue 4) applied to the driver, which is most of
 * the node's path: create <= 1.10x, pause/resume <= raw + 3 ms, remove <= raw + 5 ms.
 */
import type Dockerode from "dockerode";
import { DockerDriver } from "../../src/drivers/docker.js";
import { LABEL_NODE_ID, LABEL_SANDBOX_ID } from "../../src/drivers/labels.js";
import type { SandboxSpec } from "../../src/drivers/types.js";
import { newSandboxId, type SandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { removeContainersOf, requireDocker, testNodeId } from "../../test/helpers/docker.js";
import { waitHttpId } from "../lib/http.js";
import { alternate, latencyRows } from "../lib/measure.js";
import { nowMs } from "../lib/stats.js";
import type { Suite } from "../lib/types.js";

const MIB = 1024 * 1024;
const RESOURCES = { cpu: 1, memoryMB: 512 };

/** What `docker run` of the base template needs, written out by hand as a dockerode user would (same limits as the driver's). */
function rawCreateBody(nodeId: string, sandboxId: SandboxId): Dockerode.ContainerCreateOptions {
  return {
    name: `bench-raw-${sandboxId}`,
    Image: BASE_TEMPLATE.image,
    Labels: { [LABEL_SANDBOX_ID]: sandboxId, [LABEL_NODE_ID]: nodeId },
    Env: [`CORRAL_SANDBOX_ID=${sandboxId}`],
    HostConfig: { NanoCpus: RESOURCES.cpu * 1e9, Memory: RESOURCES.memoryMB * MIB, MemorySwap: RESOURCES.memoryMB * MIB, PidsLimit: 256, NetworkMode: "bridge" },
  };
}

/** A created sandbox, raw or through the driver, kept for the pause and remove rounds. */
interface Made {
  handle: string;
  host: string;
}

export const suite: Suite = {
  name: "driver",
  description: "DockerDriver start/pause/resume/remove vs raw dockerode",
  params: {
    creates: { default: 30, quick: 3, doc: "recorded creates per side (each also removed once)" },
    pauses: { default: 200, quick: 10, doc: "recorded pause+resume cycles per side" },
    warmup: { default: 3, quick: 1, doc: "unrecorded rounds first (creates and pause cycles)" },
  },
  async run({ params, progress, cleanup }) {
    const { creates, pauses, warmup } = params as { creates: number; pauses: number; warmup: number };
    const docker = await requireDocker();
    const nodeId = testNodeId("bench");
    const driver = new DockerDriver({ docker });
    cleanup(async () => {
      await driver.close();
      await removeContainersOf(docker, nodeId);
    });
    const raws: Made[] = [];
    const ours: Made[] = [];

    const rawCreate = async () => {
      const id = newSandboxId();
      const t0 = nowMs();
      const container = await docker.createContainer(rawCreateBody(nodeId, id));
      await container.start();
      const host = (await container.inspect()).NetworkSettings.Networks.bridge!.IPAddress;
      await waitHttpId(host, BASE_TEMPLATE.readyPort, id);
      const ms = nowMs() - t0;
      raws.push({ handle: container.id, host });
      return ms;
    };
    const driverCreate = async () => {
      const spec: SandboxSpec = { sandboxId: newSandboxId(), nodeId, template: BASE_TEMPLATE, env: {}, resources: RESOURCES, incarnation: 1 };
      const t0 = nowMs();
      const started = await driver.start(spec);
      await waitHttpId(started.endpoint.host, BASE_TEMPLATE.readyPort, spec.sandboxId);
      const ms = nowMs() - t0;
      ours.push({ handle: started.handle, host: started.endpoint.host });
      return ms;
    };
    progress(`driver: ${creates + warmup} creates per side`);
    const create = latencyRows("create -> HTTP ready", await alternate(creates, warmup, rawCreate, driverCreate), {
      p50: { kind: "ratio", max: 1.1 },
    });

    progress(`driver: ${pauses + warmup} pause/resume cycles per side`);
    const samples = { rawPause: [] as number[], rawResume: [] as number[], pause: [] as number[], resume: [] as number[] };
    const rawBox = docker.getContainer(raws[0]!.handle);
    const ourBox = ours[0]!.handle;
    const time = async (fn: () => Promise<unknown>) => {
      const t0 = nowMs();
      await fn();
      return nowMs() - t0;
    };
    const cycle = (pause: () => Promise<unknown>, resume: () => Promise<unknown>, into: [number[], number[]]) => async (recorded: boolean) => {
      const p = await time(pause);
      const r = await time(resume);
      if (recorded) {
        into[0].push(p);
        into[1].push(r);
      }
      return p + r;
    };
    await alternate(
      pauses,
      warmup,
      cycle(() => rawBox.pause(), () => rawBox.unpause(), [samples.rawPause, samples.rawResume]),
      cycle(() => driver.pause(ourBox, "freeze"), () => driver.resume(ourBox, "freeze"), [samples.pause, samples.resume]),
    );
    const pause = latencyRows("pause (freeze)", { baseline: samples.rawPause, corral: samples.pause }, { p50: { kind: "delta", max: 3 } });
    const resume = latencyRows("resume (freeze)", { baseline: samples.rawResume, corral: samples.resume }, { p50: { kind: "delta", max: 3 } });

    progress(`driver: ${raws.length} removes per side`);
    const removeRounds = Math.min(raws.length, ours.length);
    let r = 0;
    let o = 0;
    const remove = latencyRows(
      "remove (running)",
      await alternate(
        removeRounds,
        0,
        () => time(() => docker.getContainer(raws[r++]!.handle).remove({ force: true })),
        () => time(() => driver.remove(ours[o++]!.handle)),
      ),
      { p50: { kind: "delta", max: 5 } },
    );
    return {
      rows: [...create.rows, ...pause.rows, ...resume.rows, ...remove.rows],
      notes: [
        "baseline = raw dockerode, same image and container config; both create paths end when GET /id answers the id",
        `warm-up rounds are not recorded; the first ${warmup} create(s) per side include the image's first use`,
      ],
      details: { create: create.summaries, pause: pause.summaries, resume: resume.summaries, remove: remove.summaries },
    };
  },
};
