#!/usr/bin/env node
// bench/e2b: an E2B command round trip through Corral against docker exec,
// interleaved in one run on one engine (issue 18). Not a test: it prints a
// table and writes its row for the runner (bench/lib/script-suite.ts).
//
// - corral: `sandbox.commands.run("true")` with the `e2b` SDK, i.e. HTTP to
//   the proxy (port 49983 of the sandbox) -> the node's envd endpoint ->
//   docker exec (create, start, wait, inspect) -> Connect stream back;
// - baseline: the same exec on the same container straight from dockerode
//   (exec create, start, wait for the end of the stream, inspect for the exit
//   code): `docker exec CONTAINER true` without the CLI's own start-up.
// Target: p50 <= 1.5x the baseline's.
//
// Usage: node bench/e2b.mjs [--rounds=N] [--warmup=N]   (after `npm run build`)
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import Dockerode from "dockerode";
import { Sandbox } from "e2b";

const root = path.resolve(import.meta.dirname, "..");
const dist = (p) => import(path.join(root, "dist", p));
const quick = process.env.CORRAL_BENCH_QUICK === "1";
const { values } = parseArgs({ options: { rounds: { type: "string" }, warmup: { type: "string" } }, strict: true });
const rounds = Number(values.rounds ?? (quick ? 20 : 300));
const warmup = Number(values.warmup ?? (quick ? 3 : 20));
const say = (line) => process.stdout.write(`${line}\n`);

const freePort = () =>
  new Promise((resolve) => {
    const srv = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

async function startNats() {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-bench-e2b-"));
  const child = spawn("nats-server", ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir], { stdio: "ignore" });
  const url = `nats://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => net.connect(port, "127.0.0.1").on("connect", function () { this.destroy(); r(true); }).on("error", () => r(false)));
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, stop: () => { child.kill("SIGTERM"); fs.rmSync(dir, { recursive: true, force: true }); } };
}

async function rawExec(docker, containerId) {
  const t0 = performance.now();
  const exec = await docker.getContainer(containerId).exec({ Cmd: ["true"], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  stream.resume();
  await new Promise((r) => { stream.on("end", r); stream.on("close", r); });
  const info = await exec.inspect();
  if (info.ExitCode !== 0) throw new Error(`raw exec exited ${info.ExitCode}`);
  return performance.now() - t0;
}

async function main() {
  const { connect } = await import("@nats-io/transport-node");
  const { NodeActor } = await dist("actors/node/node-actor.js");
  const { startProxy } = await dist("actors/proxy/index.js");
  const { startGateway } = await dist("actors/gateway/index.js");
  const { createDriver } = await dist("src/drivers/create.js");
  const { resolveConfig } = await dist("src/config.js");
  const { SandboxStore } = await dist("src/store/sandbox-store.js");
  const { ApiKeyStore } = await dist("src/store/api-keys.js");

  const docker = new Dockerode();
  await docker.ping();
  const nats = await startNats();
  const nodeId = `bench-e2b-${process.pid}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `corral-${nodeId}-`));
  const nc = await connect({ servers: nats.url });
  const config = resolveConfig({}, {});
  const driver = createDriver("docker", { dataDir });
  const node = await NodeActor.start({ nc, nodeId, driver, config, capacity: { cpu: 64, memoryMB: 65536, sandboxes: 100 }, pauseMode: "freeze" });
  const proxy = await startProxy({ nc, store: await SandboxStore.open(nc, config), config, port: 0, domain: "corral.localhost", host: "127.0.0.1", accessLog: false });
  const gateway = await startGateway({ nc, port: 0, host: "127.0.0.1" });
  const apiKey = (await (await ApiKeyStore.open(nc)).create("bench")).key;
  const opts = { apiKey, apiUrl: `http://127.0.0.1:${gateway.port}`, sandboxUrl: `http://127.0.0.1:${proxy.port}` };
  let sbx;
  try {
    sbx = await Sandbox.create("base", { ...opts, timeoutMs: 600_000 });
    const containerId = (await docker.listContainers({ filters: { label: [`corral.sandbox-id=${sbx.sandboxId}`] } }))[0].Id;
    const corral = [];
    const raw = [];
    const cmdRun = async () => {
      const t0 = performance.now();
      const r = await sbx.commands.run("true");
      if (r.exitCode !== 0) throw new Error(`commands.run exited ${r.exitCode}`);
      return performance.now() - t0;
    };
    for (let i = 0; i < warmup; i++) {
      await cmdRun();
      await rawExec(docker, containerId);
    }
    // Interleaved, alternating which goes first, so drift in the engine's speed hits both alike.
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        corral.push(await cmdRun());
        raw.push(await rawExec(docker, containerId));
      } else {
        raw.push(await rawExec(docker, containerId));
        corral.push(await cmdRun());
      }
    }
    const c50 = pct(corral, 50);
    const r50 = pct(raw, 50);
    const ratio = c50 / r50;
    say(`bench/e2b: ${rounds} interleaved rounds (+${warmup} warm-up), one base container, ${os.cpus().length} cores`);
    say(`  commands.run("true") via proxy+envd  p50 ${c50.toFixed(2)} ms  p90 ${pct(corral, 90).toFixed(2)} ms`);
    say(`  docker exec true (dockerode)         p50 ${r50.toFixed(2)} ms  p90 ${pct(raw, 90).toFixed(2)} ms`);
    say(`  ratio p50 ${ratio.toFixed(2)}x  target <= 1.5x  ${ratio <= 1.5 ? "PASS" : "MISS"}`);
    if (process.env.CORRAL_BENCH_RESULT) {
      fs.writeFileSync(
        process.env.CORRAL_BENCH_RESULT,
        JSON.stringify({
          rows: [{ metric: 'e2b commands.run("true") round trip p50', unit: "ms", baseline: r50, corral: c50, target: { kind: "ratio", max: 1.5 } }],
          notes: ["e2b: baseline is dockerode exec create+start+wait+inspect on the same container, interleaved"],
          details: { corral: { p50: c50, p90: pct(corral, 90) }, raw: { p50: r50, p90: pct(raw, 90) }, rounds },
        }),
      );
    }
  } finally {
    if (sbx) await sbx.kill().catch(() => undefined);
    await gateway.close();
    await proxy.close();
    await node.stop();
    await nc.close();
    const left = await docker.listContainers({ all: true, filters: { label: [`corral.node-id=${nodeId}`] } });
    await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
    nats.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

await main();
process.exit(0);
