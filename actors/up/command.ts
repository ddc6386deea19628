/**
 * `corral up`: a whole local Corral from one command. Without `--nats-url`
 * it starts an embedded nats-server with JetStream under the data dir, then
 * one node (docker driver when an engine answers, else process), the proxy
 * and the UI; prints every address and a first command to try; Ctrl-C stops
 * everything. Restarting with the same data dir brings every sandbox back
 * (the node's id is fixed and it re-adopts its sandboxes). Sandboxes in Docker
 * survive a stop.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { parse } from "../../src/cli/args.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { defaultDriverKind } from "../../src/drivers/detect.js";
import { spawnCorral, stopChild, track, waitReady, type Child } from "./children.js";
import { startEmbeddedNats } from "./embedded-nats.js";

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(url, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on("error", () => resolve(false));
  });
}

/** True once some process serves the corral micro service. */
async function apiAnswers(nc: NatsConnection): Promise<boolean> {
  return nc.request("$SRV.PING.corral", "", { timeout: 500 }).then(
    () => true,
    () => false,
  );
}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError(`${name}: expected a port number, got ${JSON.stringify(value)}`);
  return n;
}

export async function runUpCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, {
    "data-dir": { type: "string", default: ".corral" },
    "nats-url": { type: "string" },
    "nats-port": { type: "string", default: "4222" },
    "proxy-port": { type: "string", default: "8480" },
    "ui-port": { type: "string", default: "8481" },
    driver: { type: "string" },
    "node-id": { type: "string", default: "node-1" },
    domain: { type: "string", default: "corral.localhost" },
  });
  if (positionals.length > 0) throw new InvalidArgumentError(`corral up takes no arguments, got ${positionals.join(" ")}`);
  if (values.driver !== undefined && values.driver !== "docker" && values.driver !== "process") {
    throw new InvalidArgumentError(`--driver: expected docker or process, got ${JSON.stringify(values.driver)}`);
  }
  const proxyPort = port("--proxy-port", values["proxy-port"]);
  const uiPort = port("--ui-port", values["ui-port"]);
  const dataDir = path.resolve(values["data-dir"]);
  const logDir = path.join(dataDir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const children: Child[] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    // Servers first, NATS last, so in-flight writes still land.
    const nats = children.find((c) => c.name === "nats-server");
    await Promise.all(children.filter((c) => c !== nats).map((c) => stopChild(c)));
    if (nats) await stopChild(nats);
  };

  let natsUrl = values["nats-url"];
  try {
    if (!natsUrl) {
      const nats = await startEmbeddedNats(dataDir, port("--nats-port", values["nats-port"]), path.join(logDir, "nats-server.log"));
      children.push(track("nats-server", nats.child, path.join(logDir, "nats-server.log")));
      natsUrl = nats.url;
      say(`nats     ${natsUrl}  (embedded, JetStream store ${path.join(dataDir, "nats")})`);
    } else {
      say(`nats     ${natsUrl}  (joined)`);
    }
    const driver = values.driver ?? (await defaultDriverKind());
    if (!values.driver) say(`driver   ${driver}${driver === "process" ? " (no Docker engine answers)" : " (a Docker engine answers)"}`);

    const nc = await connect({ servers: natsUrl, name: "corral-up" });
    try {
      const nodeDir = path.join(dataDir, `node-${values["node-id"]}`);
      const node = spawnCorral("node", ["node", "--nats-url", natsUrl, "--node-id", values["node-id"], "--driver", driver, "--data-dir", nodeDir], path.join(logDir, "node.log"));
      children.push(node);
      const proxy = spawnCorral("proxy", ["proxy", "--nats-url", natsUrl, "--port", String(proxyPort), "--domain", values.domain], path.join(logDir, "proxy.log"));
      children.push(proxy);
      const ui = spawnCorral("ui", ["ui", "--nats-url", natsUrl, "--port", String(uiPort)], path.join(logDir, "ui.log"));
      children.push(ui);
      await Promise.all([
        waitReady(node, () => apiAnswers(nc), 60_000),
        waitReady(proxy, () => httpOk(`http://127.0.0.1:${proxyPort}/healthz`), 30_000),
        waitReady(ui, () => httpOk(`http://127.0.0.1:${uiPort}/`), 30_000),
      ]);
    } finally {
      await nc.close();
    }
    say(`node     ${values["node-id"]} (${driver} driver)  log ${path.join(logDir, "node.log")}`);
    say(`proxy    http://127.0.0.1:${proxyPort}  (http://<port>-<sandboxId>.${values.domain}:${proxyPort}/)`);
    say(`ui       http://127.0.0.1:${uiPort}/`);
    say(`logs     ${logDir}`);
    say("");
    say(`try:     npx corral create --nats-url ${natsUrl} --timeout 600`);
    say("stop:    Ctrl-C (sandboxes in Docker keep running; `corral up` again brings them back)");
  } catch (err) {
    await stopAll();
    throw err;
  }

  // Stop everything on a signal, or when any child dies on its own.
  const done = new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      say(`\n${signal}: stopping...`);
      void stopAll().then(() => resolve(0));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    for (const child of children) {
      void child.exited.then((code) => {
        if (stopping) return;
        process.stderr.write(`corral up: ${child.name} exited (${code}); stopping everything. See ${child.logFile}\n`);
        void stopAll().then(() => resolve(1));
      });
    }
  });
  const code = await done;
  say("stopped");
  return code;
}
