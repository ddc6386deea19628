// TLS (issue 17; DESIGN.md "Security", TLS): a nats-server run from
// deploy/nats-server-tls.conf (mutual TLS) with certificates made here; a real
// `corral node` (TLS files from CORRAL_NATS_TLS_*) and the CLI (--tls-ca,
// --tls-cert, --tls-key) work through it; a client that does not trust the
// CA, or has no client certificate, is refused.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corral, corralJson } from "../helpers/cli.js";
import { removeSandboxesOf, spawnNode, type SpawnedNode } from "../helpers/node.js";
import { makeTestCerts, type TestCerts } from "../helpers/tls.js";
import { waitUntil } from "../helpers/wait.js";
import { freePort } from "../helpers/ports.js";

const DEPLOY = path.resolve(import.meta.dirname, "../../deploy");
let certs: TestCerts;
let server: ChildProcess;
let node: SpawnedNode;
let url: string;

beforeAll(async () => {
  certs = makeTestCerts();
  const port = await freePort();
  url = `tls://127.0.0.1:${port}`;
  const env = { ...process.env, NATS_PORT: String(port), NATS_STORE: path.join(certs.dir, "js"), NATS_TLS_CERT: certs.serverCert, NATS_TLS_KEY: certs.serverKey, NATS_TLS_CA: certs.ca };
  // The deploy file's monitoring port is fixed; the test server needs none.
  const conf = path.join(certs.dir, "nats.conf");
  fs.writeFileSync(conf, fs.readFileSync(path.join(DEPLOY, "nats-server-tls.conf"), "utf8").replace(/^http: .*$/m, ""));
  server = spawn("nats-server", ["-c", conf], { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  server.stderr!.on("data", (c: Buffer) => (log += c.toString()));
  await waitUntil(() => log.includes("Server is ready"), { timeoutMs: 15_000, what: `the TLS nats-server:\n${log}` });
  node = await spawnNode({
    natsUrl: url,
    prefix: "tls",
    driver: "process",
    env: { CORRAL_NATS_TLS_CA: certs.ca, CORRAL_NATS_TLS_CERT: certs.clientCert, CORRAL_NATS_TLS_KEY: certs.clientKey },
  });
}, 90_000);

afterAll(async () => {
  await node?.stop();
  if (node) await removeSandboxesOf("process", node.nodeId, node.dataDir);
  server?.kill("SIGTERM");
  if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
});

describe("TLS", () => {
  it("the node and the CLI work through a mutual-TLS nats-server", async () => {
    const tls = ["--tls-ca", certs.ca, "--tls-cert", certs.clientCert, "--tls-key", certs.clientKey];
    const sbx = await corralJson<{ sandboxId: string; state: string; nodeId: string }>(["create", "--nats-url", url, ...tls, "--timeout", "60"]);
    expect(sbx).toMatchObject({ state: "running", nodeId: node.nodeId });
    expect(await corralJson(["kill", sbx.sandboxId, "--nats-url", url, ...tls])).toMatchObject({ state: "killed" });
  });

  it("refuses a client without the CA, or without a client certificate", async () => {
    const noCa = await corral(["ls", "--nats-url", url, "--tls-cert", certs.clientCert, "--tls-key", certs.clientKey, "--json"]);
    expect([noCa.code, JSON.parse(noCa.stdout).error.code]).toEqual([1, "unavailable"]);
    // The server ends the TLS session of a client without a certificate; the client hears nothing and gives up after 5 s, saying why it may be.
    const noCert = await corral(["ls", "--nats-url", url, "--tls-ca", certs.ca, "--json"]);
    expect([noCert.code, JSON.parse(noCert.stdout).error.code]).toEqual([1, "unavailable"]);
    expect(JSON.parse(noCert.stdout).error.message).toMatch(/timeout \(a server that requires client certificates drops a TLS client without one: pass --tls-cert and --tls-key\)$/);
    const halfPair = await corral(["ls", "--nats-url", url, "--tls-ca", certs.ca, "--tls-cert", certs.clientCert, "--json"]);
    expect([halfPair.code, JSON.parse(halfPair.stdout).error.code]).toEqual([1, "invalid_argument"]);
  });
});
