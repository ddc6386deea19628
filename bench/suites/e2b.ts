/**
 * e2b (issue 18): an E2B command round trip through Corral against a plain
 * docker exec on the same container, interleaved in one run on one engine.
 * - corral: `sandbox.commands.run("true")` with the unchanged `e2b` SDK, i.e.
 *   HTTP to a `corral proxy` process (port 49983 of the sandbox) -> the
 *   `corral node` process's envd endpoint -> docker exec -> Connect stream back;
 * - baseline: the same exec straight from dockerode (exec create, start, wait
 *   for the end of the stream, inspect for the exit code): `docker exec
 *   CONTAINER true` without the CLI's own start-up.
 * Target: p50 <= 1.5x the baseline's. Needs Docker.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Dockerode from "dockerode";
import { Sandbox } from "e2b";
import { startGateway } from "../../actors/gateway/index.js";
import { LABEL_SANDBOX_ID } from "../../src/drivers/labels.js";
import { ApiKeyStore } from "../../src/store/api-keys.js";
import { startBenchNode } from "../lib/bench-node.js";
import { alternate, latencyRows } from "../lib/measure.js";
import { timeMs } from "../lib/stats.js";
import { defineSuite } from "../lib/types.js";
import { startReplica } from "./proxy/replica.js";

/** `docker exec CONTAINER true` through dockerode; rejects unless it exits 0. */
async function dockerExecTrue(container: Dockerode.Container): Promise<void> {
  const exec = await container.exec({ Cmd: ["true"], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise<void>((resolve, reject) => {
    stream.once("end", () => resolve());
    stream.once("close", () => resolve());
    stream.once("error", reject);
  });
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`docker exec true exited ${String(info.ExitCode)}`);
}

export const suite = defineSuite({
  name: "e2b",
  description: 'e2b SDK commands.run("true") via proxy + envd vs dockerode exec of `true` on the same container (docker)',
  params: {
    rounds: { default: 300, quick: 20, doc: "recorded round trips per side (interleaved)" },
    warmup: { default: 20, quick: 3, doc: "unrecorded round trips per side first" },
  },
  async run(ctx) {
    const { rounds, warmup } = ctx.params;
    const docker = new Dockerode();
    await docker.ping();
    const node = await startBenchNode(ctx, "docker");
    const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-e2b-"));
    const proxyPort = await startReplica(ctx, path.join(logDir, "corral-proxy.log"));
    const nc = await ctx.nats.connect();
    ctx.cleanup(() => nc.close());
    // The gateway is only on the create path, not the measured one.
    const gateway = await startGateway({ nc, port: 0, host: "127.0.0.1" });
    ctx.cleanup(() => gateway.close());
    const apiKey = (await (await ApiKeyStore.open(nc)).create("bench-e2b")).key;
    const opts = { apiKey, apiUrl: `http://127.0.0.1:${gateway.port}`, sandboxUrl: `http://127.0.0.1:${proxyPort}` };

    const sbx = await Sandbox.create("base", { ...opts, timeoutMs: 3_600_000 });
    ctx.cleanup(() => sbx.kill().then(() => undefined));
    const [listed] = await docker.listContainers({ filters: { label: [`${LABEL_SANDBOX_ID}=${sbx.sandboxId}`] } });
    if (!listed) throw new Error(`no container for sandbox ${sbx.sandboxId}`);
    const container = docker.getContainer(listed.Id);

    const viaE2b = () =>
      timeMs(async () => {
        const r = await sbx.commands.run("true");
        if (r.exitCode !== 0) throw new Error(`commands.run("true") exited ${r.exitCode}`);
      });
    const viaDocker = () => timeMs(() => dockerExecTrue(container));
    ctx.progress(`e2b: ${rounds} interleaved round trips per side (+${warmup} warm-up) on ${sbx.sandboxId}`);
    const measured = latencyRows('e2b commands.run("true") vs docker exec', await alternate(rounds, warmup, viaDocker, viaE2b), {
      p50: { kind: "ratio", max: 1.5 },
    });
    return {
      rows: measured.rows,
      notes: [
        `node ${node.nodeId}: a \`corral node --driver docker\` child process; a \`corral proxy\` child process (logs in ${logDir}); the gateway in the bench process (create only)`,
        "baseline = dockerode exec create + start + wait for the stream's end + inspect, on the sandbox's own container",
      ],
      details: { roundTrip: measured.summaries, sandboxId: sbx.sandboxId },
    };
  },
});
