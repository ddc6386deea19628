// deploy/ cannot rot: the nats-server configurations pass the server's own
// check, and the node's systemd command line parses (the node then waits for
// its unreachable NATS, logging it, instead of failing on a flag). The
// three-server recipe is started for real by test/integration/cluster-*.test.ts
// (test/helpers/nats-cluster.ts starts every cluster from it).
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CORRAL_BIN } from "../helpers/node.js";
import { makeTestCerts } from "../helpers/tls.js";
import { waitUntil } from "../helpers/wait.js";

const DEPLOY = path.resolve(import.meta.dirname, "../../deploy");

function checkConfig(file: string, env: NodeJS.ProcessEnv = {}) {
  return spawnSync("nats-server", ["-t", "-c", path.join(DEPLOY, file)], { encoding: "utf8", env: { ...process.env, ...env } });
}

describe("deploy/", () => {
  it("nats-server.conf is a valid configuration", () => {
    const res = checkConfig("nats-server.conf");
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr + res.stdout).toMatch(/is valid/);
  });

  it("nats-cluster.conf is valid with its variables set", () => {
    const res = checkConfig("nats-cluster.conf", { NATS_NAME: "nats-a", NATS_STORE_DIR: "/var/lib/corral/nats", NATS_ROUTE_1: "nats://10.0.0.2:6222", NATS_ROUTE_2: "nats://10.0.0.3:6222" });
    expect(res.status, res.stderr).toBe(0);
    expect(res.stderr + res.stdout).toMatch(/is valid/);
  });

  it("the TLS configurations are valid with their variables set (certificates made here)", () => {
    const certs = makeTestCerts();
    try {
      const tls = { NATS_TLS_CERT: certs.serverCert, NATS_TLS_KEY: certs.serverKey, NATS_TLS_CA: certs.ca };
      const single = checkConfig("nats-server-tls.conf", { ...tls, NATS_PORT: "4222", NATS_STORE: path.join(certs.dir, "js") });
      expect(single.status, single.stderr).toBe(0);
      const cluster = checkConfig("nats-cluster-tls.conf", { ...tls, NATS_NAME: "nats-a", NATS_ROUTE_1: "tls://10.0.0.2:6222", NATS_ROUTE_2: "tls://10.0.0.3:6222" });
      expect(cluster.status, cluster.stderr).toBe(0);
      expect(cluster.stderr + cluster.stdout).toMatch(/is valid/);
    } finally {
      fs.rmSync(certs.dir, { recursive: true, force: true });
    }
  });

  it("the node unit's command line is accepted by corral node, which then waits for NATS", async () => {
    const unit = fs.readFileSync(path.join(DEPLOY, "systemd/corral-node.service"), "utf8");
    const execStart = /^ExecStart=\S+ \S+ (.*)$/m.exec(unit)![1]!.replace("%H", "unit-test").split(" ");
    const env: NodeJS.ProcessEnv = { ...process.env, CORRAL_LOG_LEVEL: "info" };
    delete env.VITEST; // a real server's logger, not a test's silenced one
    const child = spawn(process.execPath, [CORRAL_BIN, ...execStart, "--nats-url", "nats://127.0.0.1:1,nats://127.0.0.1:2"], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      await waitUntil(() => /"msg":"waiting for NATS"/.test(stderr) && /"attempt":2/.test(stderr), { timeoutMs: 20_000, what: "two waiting lines" });
      expect(stderr).toContain('"servers":"nats://127.0.0.1:1,nats://127.0.0.1:2"');
      expect(child.exitCode).toBeNull();
    } finally {
      child.kill("SIGTERM");
    }
    await exited;
  });
});
