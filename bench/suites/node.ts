/**
 * node: create / pause / resume / kill through the command subject of a real
 * `corral node` process (docker driver; what the API forwards to) against
 * raw dockerode on the same engine, interleaved (lib/docker-compare.ts).
 * Pause and resume are also compared with the contract's floor
 * (bench/floors/contract-floor.ts), which separates what the contract's NATS
 * work costs on the machine from what Corral's own code costs.
 */
import { upstreamOf } from "../../actors/proxy/upstream.js";
import { resolveCreate } from "../../src/api/resolve-create.js";
import { encodeMsgpack } from "../../src/codec.js";
import { resolveConfig } from "../../src/config.js";
import { newSandboxId, type SandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE, TemplateRegistry } from "../../src/templates.js";
import { startDockerBench } from "../lib/bench-node.js";
import { startContractFloor } from "../floors/contract-floor.js";
import { compareWithRawDocker } from "../lib/docker-compare.js";
import { waitHttpId } from "../lib/http.js";
import { BENCH_RESOURCES, rawCreateReady } from "../lib/raw-docker.js";
import { nowMs } from "../lib/stats.js";
import { defineSuite } from "../lib/types.js";

export const suite = defineSuite({
  name: "node",
  description: "create/pause/resume/kill through a corral node (docker) vs raw dockerode",
  params: {
    creates: { default: 30, quick: 3, doc: "recorded creates per side (each also killed once)" },
    pauses: { default: 100, quick: 10, doc: "recorded pause+resume cycles per side" },
    warmup: { default: 3, quick: 1, doc: "unrecorded rounds first (creates and pause cycles)" },
  },
  async run(ctx) {
    const { docker, rawLabel, node, nc, command } = await startDockerBench(ctx);
    const spec = resolveCreate({ resources: BENCH_RESOURCES }, resolveConfig({}, {}), new TemplateRegistry());

    const result = await compareWithRawDocker<SandboxId>(
      { suite: "node", progress: ctx.progress, docker, rawLabel },
      ctx.params,
      {
        async create() {
          const sandboxId = newSandboxId();
          const t0 = nowMs();
          const { record } = await command({ op: "create", sandboxId, spec });
          const upstream = upstreamOf(record, BASE_TEMPLATE.readyPort);
          if (typeof upstream === "string") throw new Error(`sandbox ${sandboxId}: ${upstream}`);
          await waitHttpId(upstream.host, upstream.port, sandboxId);
          return { ms: nowMs() - t0, sandbox: sandboxId };
        },
        pause: (sandboxId) => command({ op: "pause", sandboxId }),
        resume: (sandboxId) => command({ op: "resume", sandboxId }),
        remove: (sandboxId) => command({ op: "kill", sandboxId }),
      },
      "kill (running)",
      async (sandboxId) => {
        const { record } = await command({ op: "get", sandboxId });
        const { sandbox } = await rawCreateReady(docker, rawLabel);
        return startContractFloor(ctx, nc, sandbox.container.id, encodeMsgpack(record).length);
      },
    );
    result.notes.unshift(`node ${node.nodeId}: a \`corral node --driver docker\` child process; requests go straight to its command subject (no API hop)`);
    return result;
  },
});
