/**
 * driver: DockerDriver against raw dockerode, same engine, image and
 * container config, interleaved (lib/docker-compare.ts): create until GET /id
 * answers, pause / resume (freeze), remove. The node's targets apply: the
 * driver is most of the node's path.
 */
import { DockerDriver } from "../../src/drivers/docker.js";
import type { SandboxSpec } from "../../src/drivers/types.js";
import { newClusterId, newSandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { removeContainersOf, requireDocker, testNodeId } from "../../test/helpers/docker.js";
import { compareWithRawDocker } from "../lib/docker-compare.js";
import { waitHttpId } from "../lib/http.js";
import { BENCH_RESOURCES } from "../lib/raw-docker.js";
import { nowMs } from "../lib/stats.js";
import { defineSuite } from "../lib/types.js";

export const suite = defineSuite({
  name: "driver",
  description: "DockerDriver start/pause/resume/remove vs raw dockerode",
  params: {
    creates: { default: 30, quick: 3, doc: "recorded creates per side (each also removed once)" },
    pauses: { default: 200, quick: 10, doc: "recorded pause+resume cycles per side" },
    warmup: { default: 3, quick: 1, doc: "unrecorded rounds first (creates and pause cycles)" },
  },
  async run({ params, progress, cleanup }) {
    const docker = await requireDocker();
    const nodeId = testNodeId("bench");
    const clusterId = newClusterId();
    const driver = new DockerDriver({ docker });
    cleanup(async () => {
      await driver.close();
      await removeContainersOf(docker, nodeId);
    });
    return compareWithRawDocker(
      { suite: "driver", progress, docker, rawLabel: nodeId },
      params,
      {
        async create() {
          const spec: SandboxSpec = { sandboxId: newSandboxId(), nodeId, clusterId, template: BASE_TEMPLATE, env: {}, resources: BENCH_RESOURCES, incarnation: 1 };
          const t0 = nowMs();
          const started = await driver.start(spec);
          await waitHttpId(started.endpoint.host, BASE_TEMPLATE.readyPort, spec.sandboxId);
          return { ms: nowMs() - t0, sandbox: started.handle };
        },
        pause: (handle) => driver.pause(handle, "freeze"),
        resume: (handle) => driver.resume(handle, "freeze"),
        remove: (handle) => driver.remove(handle),
      },
      "remove (running)",
    );
  },
});
