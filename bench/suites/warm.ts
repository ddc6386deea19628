/**
 * warm: a create served by the warm pool (docs/warm-pool.md) through the
 * command subject of a real `corral node --driver docker --warm base=N`
 * child, until `GET /id` answers the new id, against two baselines in the
 * same run, all three interleaved round by round:
 * - raw `docker unpause` of a frozen base container + `GET /id` (the
 *   issue's baseline: what a claim through the engine cannot go below). The
 *   container is made and frozen ahead, at the end of the previous raw
 *   round, and waits through the other sides' rounds as a pool member waits
 *   for its claim: a container thawed right after its own create and pause
 *   finds the engine and the machine hot and thaws several ms faster than
 *   one frozen for a while, which no claim can match;
 * - context, no target: the same with the container frozen and thawed
 *   through its freezer cgroup, as the pool freezes its members
 *   (src/drivers/freezer.ts): what a claim cannot go below on this host;
 * - a cold create through the same node (an `env` makes it ineligible for a
 *   member), as the node suite measures it.
 * Before every round the pool is full again and nothing is starting (the
 * refill a claim starts is waited for outside the timing), so each side runs
 * on a quiet engine. Every sandbox is killed outside the timing.
 */
import type Dockerode from "dockerode";
import { upstreamOf } from "../../actors/proxy/upstream.js";
import { resolveCreate } from "../../src/api/resolve-create.js";
import { resolveConfig } from "../../src/config.js";
import { freezerOf, type Freezer } from "../../src/drivers/freezer.js";
import { LABEL_NODE_ID, LABEL_POOL_MEMBER, LABEL_SANDBOX_ID } from "../../src/drivers/labels.js";
import { newSandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE, TemplateRegistry } from "../../src/templates.js";
import { frozenMembersOf } from "../../test/helpers/docker.js";
import { startDockerBench } from "../lib/bench-node.js";
import { waitHttpId } from "../lib/http.js";
import { alternateAll, latencyRows } from "../lib/measure.js";
import { rawCreateReady, type RawSandbox } from "../lib/raw-docker.js";
import { nowMs } from "../lib/stats.js";
import { defineSuite } from "../lib/types.js";

/** Polls until `probe` holds (setup between rounds, never timed). */
async function until(probe: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`warm: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const suite = defineSuite({
  name: "warm",
  description: "create served by the warm pool vs raw docker unpause + GET and vs a cold create (docker)",
  params: {
    rounds: { default: 30, quick: 3, doc: "recorded rounds (one warm create, one raw unpause, one cold create each)" },
    pool: { default: 2, quick: 1, doc: "members kept per node (--warm base=N)" },
    warmup: { default: 3, quick: 1, doc: "unrecorded rounds first" },
  },
  async run(ctx) {
    const { docker, rawLabel, node, command } = await startDockerBench(ctx, { warm: [`base=${ctx.params.pool}`] });
    const config = resolveConfig({}, {});
    const templates = new TemplateRegistry();
    const plain = resolveCreate({}, config, templates);
    const cold = resolveCreate({ env: { BENCH_COLD: "1" } }, config, templates);
    const members = async (): Promise<Dockerode.ContainerInfo[]> => frozenMembersOf(docker, node.nodeId);
    // A full pool and no member being started: the next round runs on a quiet engine.
    const settled = async () =>
      (await members()).length === ctx.params.pool &&
      (await docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE_ID}=${node.nodeId}`, LABEL_POOL_MEMBER] } })).every((c) => c.State !== "created");
    let claimed = 0;
    let fellBack = 0;

    const create = async (spec: typeof plain, warm: boolean): Promise<number> => {
      await until(settled, "a full warm pool");
      const memberIds = new Set((await members()).map((c) => c.Id));
      const sandboxId = newSandboxId();
      const t0 = nowMs();
      const { record } = await command({ op: "create", sandboxId, spec });
      const upstream = upstreamOf(record, BASE_TEMPLATE.readyPort);
      if (typeof upstream === "string") throw new Error(`sandbox ${sandboxId}: ${upstream}`);
      await waitHttpId(upstream.host, upstream.port, sandboxId);
      const ms = nowMs() - t0;
      if (warm && memberIds.has(record.internal.handle ?? "")) claimed++;
      else if (warm) fellBack++;
      await command({ op: "kill", sandboxId });
      return ms;
    };
    /** A frozen raw container made ahead, as a pool member is: started, frozen, then left until its round. */
    const frozenRaw = async (): Promise<{ sandbox: RawSandbox; id: string }> => {
      const { sandbox } = await rawCreateReady(docker, rawLabel);
      await sandbox.container.pause();
      return { sandbox, id: (await sandbox.container.inspect()).Config.Labels[LABEL_SANDBOX_ID]! };
    };
    let nextRaw = await frozenRaw();
    const rawUnpause = async (): Promise<number> => {
      const { sandbox, id } = nextRaw;
      await until(settled, "a full warm pool");
      const t0 = nowMs();
      await sandbox.container.unpause();
      await waitHttpId(sandbox.host, BASE_TEMPLATE.readyPort, id);
      const ms = nowMs() - t0;
      await sandbox.container.remove({ force: true });
      nextRaw = await frozenRaw(); // the next round's, frozen through the other sides' rounds as a member is
      return ms;
    };
    /** Likewise, frozen through its freezer cgroup. */
    const frozenRawCgroup = async (): Promise<{ sandbox: RawSandbox; id: string; freezer: Freezer }> => {
      const { sandbox } = await rawCreateReady(docker, rawLabel);
      const info = await sandbox.container.inspect();
      const freezer = freezerOf(info.State.Pid);
      if (!freezer) throw new Error("warm: no writable freezer cgroup for a raw container (not root on the engine's host?)");
      await freezer.freeze();
      return { sandbox, id: info.Config.Labels[LABEL_SANDBOX_ID]!, freezer };
    };
    let nextRawCgroup = await frozenRawCgroup();
    const rawThaw = async (): Promise<number> => {
      const { sandbox, id, freezer } = nextRawCgroup;
      await until(settled, "a full warm pool");
      const t0 = nowMs();
      freezer.thaw();
      await waitHttpId(sandbox.host, BASE_TEMPLATE.readyPort, id);
      const ms = nowMs() - t0;
      await sandbox.container.remove({ force: true });
      nextRawCgroup = await frozenRawCgroup();
      return ms;
    };

    ctx.progress(`warm: ${ctx.params.rounds + ctx.params.warmup} rounds of warm create, raw unpause, raw cgroup thaw, cold create`);
    const [raw, warm, coldMs, thawMs] = await alternateAll(ctx.params.rounds, ctx.params.warmup, [
      rawUnpause,
      () => create(plain, true),
      () => create(cold, false),
      rawThaw,
    ]);
    const vsRaw = latencyRows("warm create -> HTTP ready (baseline: raw unpause + GET)", { baseline: raw!, corral: warm! }, { p50: { kind: "delta", max: 10 } });
    const vsCold = latencyRows("warm create -> HTTP ready (baseline: cold create)", { baseline: coldMs!, corral: warm! }, { p50: { kind: "ratio", max: 0.2 } }, { stats: ["p50"] });
    const vsThaw = latencyRows("warm create -> HTTP ready (context: raw cgroup thaw + GET)", { baseline: thawMs!, corral: warm! }, {}, { pairedDelta: true, stats: ["p50"] });
    return {
      rows: [...vsRaw.rows, ...vsCold.rows, ...vsThaw.rows],
      notes: [
        `node ${node.nodeId}: a \`corral node --driver docker --warm base=${ctx.params.pool}\` child; requests go straight to its command subject (no API hop)`,
        `warm creates served by a member: ${claimed}; fell back to a cold start: ${fellBack} (warm-up rounds included)`,
        "raw = a base container started and frozen with docker pause at the end of the previous raw round (as a member waits for its claim), then unpause + GET /id; cold = a create with an env (no member serves it)",
        "raw cgroup thaw = the same container frozen through its freezer cgroup, as the pool freezes its members, then one write to thaw it + GET /id (context: Corral's own cost over the thaw it uses)",
        "before every round the pool is full and no member is starting (a claim's refill is waited for outside the timing)",
      ],
      details: { vsRaw: vsRaw.summaries, vsCold: vsCold.summaries, vsThaw: vsThaw.summaries, claimed, fellBack },
    };
  },
});
