// `corral up` end to end (issue 5): the built executable starts an embedded
// nats-server under a temp data dir and a node (plus the proxy and UI when
// this build has them), prints its addresses; a sandbox is created with the
// CLI; Ctrl-C (SIGINT to the process group, as a terminal sends it) stops
// every process; the sandbox survives the stop, and `corral up` again on the
// same data dir brings it back; after a kill and a second stop nothing is
// left: no process, no container.
//
// The driver is what `corral up` picks (docker when an engine answers);
// CORRAL_TEST_UP_DRIVER=process|docker forces one.
import Docker from "dockerode";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Sandbox } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreateReply } from "../../src/client/types.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { corral, corralJson, startCorral, type CorralProcess } from "../helpers/cli.js";
import { containersOf, removeContainersOf, testNodeId } from "../helpers/docker.js";
import { removeSandboxesOf } from "../helpers/node.js";
import { freePort } from "../helpers/ports.js";

const nodeId = testNodeId("up");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-up-"));
const forcedDriver = process.env.CORRAL_TEST_UP_DRIVER;
let args: string[];
let natsUrl: string;
/** `corral up` is closed by default: the CLI uses the admin credentials it wrote. */
const creds = ["--creds", path.join(dataDir, "creds", "admin.creds")];
let up: CorralProcess | null = null;
let e2bKey: string;
let e2bUrls: { apiUrl: string; sandboxUrl: string };

/** Every live process whose command line names this test's data dir, as `pid cmdline`. */
function processesOfDataDir(): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    let cmdline = "";
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
      if (fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z")) continue; // a zombie is already dead
    } catch {
      continue;
    }
    if (cmdline.includes(dataDir)) out.push(`${pid} ${cmdline}`);
  }
  return out;
}

async function startUp(): Promise<CorralProcess> {
  const proc = startCorral(args, { detached: true, env: { CORRAL_LOG_LEVEL: "info" } });
  await proc.waitFor("try:", 90_000);
  return proc;
}

/** SIGINT to the whole process group, as Ctrl-C in a terminal; resolves with the exit code. */
async function ctrlC(proc: CorralProcess): Promise<number | string> {
  process.kill(-proc.child.pid!, "SIGINT");
  const code = await proc.exited;
  expect(proc.stdout()).toMatch(/SIGINT: stopping\.\.\.\nstopped\n$/);
  return code;
}

beforeAll(async () => {
  const [natsPort, proxyPort, uiPort, gatewayPort] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  e2bUrls = { apiUrl: `http://127.0.0.1:${gatewayPort}`, sandboxUrl: `http://127.0.0.1:${proxyPort}` };
  natsUrl = `nats://127.0.0.1:${natsPort}`;
  args = ["up", "--data-dir", dataDir, "--nats-port", String(natsPort), "--proxy-port", String(proxyPort), "--ui-port", String(uiPort), "--gateway-port", String(gatewayPort), "--node-id", nodeId];
  if (forcedDriver) args.push("--driver", forcedDriver);
});

afterAll(async () => {
  if (up && up.child.exitCode === null && up.child.signalCode === null) {
    process.kill(-up.child.pid!, "SIGKILL");
    await up.exited;
  }
  for (const line of processesOfDataDir()) process.kill(Number(line.split(" ")[0]), "SIGKILL");
  await removeSandboxesOf("process", nodeId, path.join(dataDir, `node-${nodeId}`));
  const docker = new Docker();
  if (await docker.ping().then(() => true, () => false)) await removeContainersOf(docker, nodeId);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("corral up", () => {
  let sandbox: CreateReply;
  let driver: string;
  let clusterId: string;

  it("starts NATS and a node, prints every address and a first command, and serves the CLI", async () => {
    up = await startUp();
    const out = up.stdout();
    expect(out).toContain(`nats     ${natsUrl}  (embedded, JetStream store ${path.join(dataDir, "nats")})`);
    driver = /^driver\s+(docker|process)/m.exec(out)![1]!;
    if (forcedDriver) expect(driver).toBe(forcedDriver);
    expect(out).toMatch(new RegExp(`^node\\s+${nodeId} \\(${driver} driver\\)`, "m"));
    // The cluster's id, made by the node on the first start and kept in the KV.
    clusterId = /^cluster\s+([a-z0-9]{12})  /m.exec(out)![1]!;
    // The proxy and UI: an address, or a one-line notice when this build has no such command.
    expect(out).toMatch(/^proxy\s+(http:\/\/127\.0\.0\.1:\d+|skipped: this corral has no `proxy` command)/m);
    expect(out).toMatch(/^ui\s+(http:\/\/127\.0\.0\.1:\d+\/|skipped: this corral has no `ui` command)/m);
    expect(out).toContain(`try:     npx corral create --nats-url ${natsUrl} --creds ${creds[1]}`);

    expect(out).toMatch(/^gateway\s+(http:\/\/127\.0\.0\.1:\d+|skipped: this corral has no `gateway` command)/m);
    e2bKey = /^e2b key  (e2b_[0-9a-f]{40})$/m.exec(out)![1]!;

    sandbox = await corralJson<CreateReply>(["create", "--nats-url", natsUrl, ...creds, "--timeout", "600"]);
    expect(sandbox).toMatchObject({ state: "running", nodeId, created: true });

    // corral exec: output streams through, the exit status is the command's (the base template has only busybox sh).
    // corral nodes names the cluster and lists this node as ready.
    const nodes = await corral(["nodes", "--nats-url", natsUrl, ...creds]);
    expect(nodes.stdout).toMatch(new RegExp(`^cluster  ${clusterId}\n`));
    expect(nodes.stdout).toMatch(new RegExp(`^${nodeId}\\s+ready\\s`, "m"));
    const exec = await corral(["exec", sandbox.sandboxId, "--nats-url", natsUrl, ...creds, "--env", "WHO=corral", "--", "/bin/bash", "-c", 'echo "hi $WHO"; echo err >&2; exit 3']);
    expect(exec).toEqual({ code: 3, stdout: "hi corral\n", stderr: "err\n" });
    const keys = await corralJson<{ items: { prefix: string; tenant: string }[] }>(["keys", "ls", "--nats-url", natsUrl, ...creds]);
    expect(keys.items).toContainEqual(expect.objectContaining({ prefix: e2bKey.slice(0, 12), tenant: "default" }));

    // The E2B path works with each server on its own role's credentials (gateway, proxy, node).
    const e2b = await Sandbox.create("base", { apiKey: e2bKey, ...e2bUrls, timeoutMs: 60_000 });
    try {
      expect((await e2b.commands.run("echo e2b")).stdout).toBe("e2b\n");
    } finally {
      expect(await e2b.kill()).toBe(true);
    }
  });

  it("stops every process on Ctrl-C; the sandbox survives", async () => {
    expect(await ctrlC(up!)).toBe(0);
    const left = processesOfDataDir().filter((l) => /nats-server|corral\.js/.test(l));
    expect(left).toEqual([]);
    if (driver === "docker") {
      const containers = await containersOf(new Docker(), nodeId);
      expect(containers.map((c) => [c.State, c.Labels["corral.cluster"]])).toEqual([["running", clusterId]]);
    } else {
      expect(processesOfDataDir().filter((l) => l.includes(sandbox.sandboxId))).toHaveLength(1);
    }
  });

  it("brings the sandbox back when started again on the same data dir", async () => {
    up = await startUp();
    expect(up.stdout()).toMatch(new RegExp(`^cluster\\s+${clusterId}  `, "m")); // the same cluster: its id is kept
    const back = await corralJson<SandboxRecord>(["get", sandbox.sandboxId, "--nats-url", natsUrl, ...creds]);
    expect(up.stdout()).toContain(`e2b key  ${e2bKey}`);
    expect(back).toMatchObject({ sandboxId: sandbox.sandboxId, state: "running", nodeId, killReason: null });
    // Still a live sandbox the node drives: it pauses and resumes.
    expect(await corralJson<SandboxRecord>(["pause", sandbox.sandboxId, "--nats-url", natsUrl, ...creds])).toMatchObject({ state: "paused" });
    expect(await corralJson<SandboxRecord>(["resume", sandbox.sandboxId, "--nats-url", natsUrl, ...creds])).toMatchObject({ state: "running" });
  });

  it("after a kill and Ctrl-C, leaves no process and no container behind", async () => {
    expect(await corralJson<SandboxRecord>(["kill", sandbox.sandboxId, "--nats-url", natsUrl, ...creds])).toMatchObject({ state: "killed" });
    expect(await ctrlC(up!)).toBe(0);
    expect(processesOfDataDir()).toEqual([]);
    if (driver === "docker") expect(await containersOf(new Docker(), nodeId)).toEqual([]);
  });
});
