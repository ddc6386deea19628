/**
 * node: sandbox operations through the node actor's command path
 * (`corral.v1.node.<nodeId>.<op>`, what the API forwards to) of a real
 * `corral node` process with the docker driver, against raw dockerode on the
 * same engine, interleaved. Issue 4's targets:
 * - create (reply = sandbox running, then GET /id answers) <= 1.10x raw
 *   create -> start -> inspect -> GET /id;
 * - pause / resume <= raw docker pause / unpause + 3 ms (p50);
 * - kill (reply = killed, container removed) <= raw remove --force + 5 ms (p50).
 * The node's path adds, per operation, a NATS round trip, the mailbox, the
 * machine and two CAS writes with their events (e.g. running -> pausing ->
 * paused) around the same engine call.
 */
import { upstreamOf } from "../../actors/proxy/upstream.js";
import { resolveCreate } from "../../src/api/resolve-create.js";
import { resolveConfig } from "../../src/config.js";
import { newSandboxId, type NodeId, type SandboxId } from "../../src/ids.js";
import { requestNode, type SandboxNodeCommand } from "../../src/node-protocol.js";
import { BASE_TEMPLATE, TemplateRegistry } from "../../src/templates.js";
import { removeContainersOf, requireDocker, testNodeId } from "../../test/helpers/docker.js";
import { startBenchNode } from "../lib/bench-node.js";
import { waitHttpId } from "../lib/http.js";
import { alternate, alternateCycle, latencyRows } from "../lib/measure.js";
import { BENCH_RESOURCES, DockerRaceRetry, rawCreateReady, type RawSandbox } from "../lib/raw-docker.js";
import { nowMs, timeMs } from "../lib/stats.js";
import type { Suite } from "../lib/types.js";

const REQUEST_TIMEOUT_MS = 60_000;

export const suite: Suite = {
  name: "node",
  description: "create/pause/resume/kill through a corral node (docker) vs raw dockerode",
  params: {
    creates: { default: 30, quick: 3, doc: "recorded creates per side (each also killed once)" },
    pauses: { default: 100, quick: 10, doc: "recorded pause+resume cycles per side" },
    warmup: { default: 3, quick: 1, doc: "unrecorded rounds first (creates and pause cycles)" },
  },
  async run(ctx) {
    const { params, progress, cleanup } = ctx;
    const { creates, pauses, warmup } = params as { creates: number; pauses: number; warmup: number };
    const docker = await requireDocker();
    // The raw containers carry their own label: the node's reconciliation would remove containers labelled with its id.
    const rawLabel = testNodeId("bench-raw");
    cleanup(() => removeContainersOf(docker, rawLabel).then(() => undefined));
    const node = await startBenchNode(ctx, "docker");
    const nc = await ctx.nats.connect();
    const config = resolveConfig({}, {});
    const spec = resolveCreate({ resources: BENCH_RESOURCES }, config, new TemplateRegistry());
    const command = (c: SandboxNodeCommand) => requestNode(nc, node.nodeId as NodeId, c, REQUEST_TIMEOUT_MS);

    const raws: RawSandbox[] = [];
    const ours: SandboxId[] = [];
    const rawCreate = async () => {
      const { ms, sandbox } = await rawCreateReady(docker, rawLabel);
      raws.push(sandbox);
      return ms;
    };
    const nodeCreate = async () => {
      const sandboxId = newSandboxId();
      const t0 = nowMs();
      const { record } = await command({ op: "create", sandboxId, spec });
      const upstream = upstreamOf(record, BASE_TEMPLATE.readyPort);
      if (typeof upstream === "string") throw new Error(`sandbox ${sandboxId}: ${upstream}`);
      await waitHttpId(upstream.host, upstream.port, sandboxId);
      const ms = nowMs() - t0;
      ours.push(sandboxId);
      return ms;
    };
    progress(`node: ${creates + warmup} creates per side`);
    const create = latencyRows("create -> HTTP ready", await alternate(creates, warmup, rawCreate, nodeCreate), { p50: { kind: "ratio", max: 1.1 } });

    progress(`node: ${pauses + warmup} pause/resume cycles per side`);
    const rawBox = raws[0]!.container;
    const ourId = ours[0]!;
    const races = { baseline: new DockerRaceRetry(), corral: new DockerRaceRetry() };
    const [pauseSamples, resumeSamples] = await alternateCycle(
      pauses,
      warmup,
      [() => races.baseline.run(() => rawBox.pause()), () => races.baseline.run(() => rawBox.unpause())],
      [() => races.corral.run(() => command({ op: "pause", sandboxId: ourId })), () => races.corral.run(() => command({ op: "resume", sandboxId: ourId }))],
    );
    const pause = latencyRows("pause (freeze)", pauseSamples, { p50: { kind: "delta", max: 3 } });
    const resume = latencyRows("resume (freeze)", resumeSamples, { p50: { kind: "delta", max: 3 } });

    progress(`node: ${Math.min(raws.length, ours.length)} kills per side`);
    const kill = latencyRows(
      "kill (running)",
      await alternate(
        Math.min(raws.length, ours.length),
        0,
        () => timeMs(() => raws.pop()!.container.remove({ force: true })),
        () => timeMs(() => command({ op: "kill", sandboxId: ours.pop()! })),
      ),
      { p50: { kind: "delta", max: 5 } },
    );
    await nc.close();
    return {
      rows: [...create.rows, ...pause.rows, ...resume.rows, ...kill.rows],
      notes: [
        `engine pause-flag races retried: raw ${races.baseline.count}, corral ${races.corral.count} (see DockerRaceRetry)`,
        `node ${node.nodeId}: a \`corral node --driver docker\` child process; requests go straight to its command subject (no API hop)`,
        "baseline = raw dockerode, same image and container config, in the bench process",
      ],
      details: { create: create.summaries, pause: pause.summaries, resume: resume.summaries, kill: kill.summaries },
    };
  },
};
