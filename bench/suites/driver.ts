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
import { DockerDriver } from "../../src/drivers/docker.js";
import type { SandboxSpec } from "../../src/drivers/types.js";
import { newSandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { removeContainersOf, requireDocker, testNodeId } from "../../test/helpers/docker.js";
import { waitHttpId } from "../lib/http.js";
import { alternate, alternateCycle, latencyRows } from "../lib/measure.js";
import { BENCH_RESOURCES, DockerRaceRetry, rawCreateReady, type RawSandbox } from "../lib/raw-docker.js";
import { nowMs, timeMs } from "../lib/stats.js";
import type { Suite } from "../lib/types.js";

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
    const raws: RawSandbox[] = [];
    const ours: string[] = [];

    const rawCreate = async () => {
      const { ms, sandbox } = await rawCreateReady(docker, nodeId);
      raws.push(sandbox);
      return ms;
    };
    const driverCreate = async () => {
      const spec: SandboxSpec = { sandboxId: newSandboxId(), nodeId, template: BASE_TEMPLATE, env: {}, resources: BENCH_RESOURCES, incarnation: 1 };
      const t0 = nowMs();
      const started = await driver.start(spec);
      await waitHttpId(started.endpoint.host, BASE_TEMPLATE.readyPort, spec.sandboxId);
      const ms = nowMs() - t0;
      ours.push(started.handle);
      return ms;
    };
    progress(`driver: ${creates + warmup} creates per side`);
    const create = latencyRows("create -> HTTP ready", await alternate(creates, warmup, rawCreate, driverCreate), {
      p50: { kind: "ratio", max: 1.1 },
    });

    progress(`driver: ${pauses + warmup} pause/resume cycles per side`);
    const rawBox = raws[0]!.container;
    const ourBox = ours[0]!;
    const races = { baseline: new DockerRaceRetry(), corral: new DockerRaceRetry() };
    const [pauseSamples, resumeSamples] = await alternateCycle(
      pauses,
      warmup,
      [() => races.baseline.run(() => rawBox.pause()), () => races.baseline.run(() => rawBox.unpause())],
      [() => races.corral.run(() => driver.pause(ourBox, "freeze")), () => races.corral.run(() => driver.resume(ourBox, "freeze"))],
    );
    const pause = latencyRows("pause (freeze)", pauseSamples, { p50: { kind: "delta", max: 3 } });
    const resume = latencyRows("resume (freeze)", resumeSamples, { p50: { kind: "delta", max: 3 } });

    progress(`driver: ${raws.length} removes per side`);
    const rounds = Math.min(raws.length, ours.length);
    const remove = latencyRows(
      "remove (running)",
      await alternate(
        rounds,
        0,
        () => timeMs(() => raws.pop()!.container.remove({ force: true })),
        () => timeMs(() => driver.remove(ours.pop()!)),
      ),
      { p50: { kind: "delta", max: 5 } },
    );
    return {
      rows: [...create.rows, ...pause.rows, ...resume.rows, ...remove.rows],
      notes: [
        `engine pause-flag races retried: raw ${races.baseline.count}, corral ${races.corral.count} (see DockerRaceRetry)`,
        "baseline = raw dockerode, same image and container config; both create paths end when GET /id answers the id",
        `the first ${warmup} round(s) per side are warm-up, not recorded`,
      ],
      details: { create: create.summaries, pause: pause.summaries, resume: resume.summaries, remove: remove.summaries },
    };
  },
};
