// deploy/ cannot rot: the nats-server configurations pass the server's own
// check, and the node's systemd command line parses (it fails only on the
// unreachable NATS, not on a flag).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CORRAL_BIN } from "../helpers/node.js";
import { makeTestCerts } from "../helpers/tls.js";

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
    const res = checkConfig("nats-cluster.conf", { NATS_NAME: "nats-a", NATS_ROUTE_1: "nats://10.0.0.2:6222", NATS_ROUTE_2: "nats://10.0.0.3:6222" });
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

  it("the node unit's command line is accepted by corral node", () => {
    const unit = fs.readFileSync(path.join(DEPLOY, "systemd/corral-node.service"), "utf8");
    const execStart = /^ExecStart=\S+ \S+ (.*)$/m.exec(unit)![1]!.replace("%H", "unit-test").split(" ");
    const res = spawnSync(process.execPath, [CORRAL_BIN, ...execStart, "--nats-url", "nats://127.0.0.1:1"], { encoding: "utf8", timeout: 20_000 });
    expect(res.status).toBe(1);
    expect(res.stderr).toMatch(/unavailable: cannot connect to NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});
