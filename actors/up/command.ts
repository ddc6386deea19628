/**
 * `corral up`: a whole local Corral from one command. Without `--nats-url`
 * it starts an embedded nats-server with JetStream under the data dir, then
 * one node (docker driver when an engine answers, else process), the proxy
 * and the UI; prints every address and a first command to try; Ctrl-C stops
 * everything. Restarting with the same data dir brings every sandbox back
 * (the node's id is fixed and it re-adopts its sandboxes). Sandboxes in Docker
 * survive a stop.
 *
 * The proxy and the UI are optional here: a `corral` built without one of
 * those commands says so in one line and runs without it.
 */
import { connect, type NatsConnection } from "@nats-io/transport-node";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { parse } from "../../src/cli/args.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { defaultDriverKind } from "../../src/drivers/detect.js";
import { readClusterId } from "../../src/store/index.js";
import { SERVICE_NAME } from "../../src/subjects.js";
import { isUnknownCommand, spawnCorral, stopChild, track, waitReady, type Child } from "./children.js";
import { startEmbeddedNats } from "./embedded-nats.js";
import { requireFreePort } from "./ports.js";

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
  return nc.request(`$SRV.PING.${SERVICE_NAME}`, "", { timeout: 500 }).then(
    () => true,
    () => false,
  );
}

function port(name: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 65535) throw new InvalidArgumentError(`${name}: expected a port number, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * Starts `corral <command>` and waits until `probe` answers. Resolves with
 * null (after a one-line notice) when this build has no such command.
 */
async function startServer(command: string, args: string[], logDir: string, probe: () => Promise<boolean>, up: { children: Child[]; say: (line: string) => void }): Promise<Child | null> {
  const child = spawnCorral(command, [command, ...args], path.join(logDir, `${command}.log`));
  up.children.push(child); // at once: a failure of another server must stop this one too
  try {
    await waitReady(child, probe, 60_000);
    return child;
  } catch (err) {
    if (!isUnknownCommand(child, command)) throw err;
    up.children.splice(up.children.indexOf(child), 1);
    up.say(`${command.padEnd(8)} skipped: this corral has no \`${command}\` command`);
    return null;
  }
}

/** The `corral up` command; resolves with the exit code once everything has stopped. */
export async function runUpCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      "data-dir": { type: "string", default: ".corral", value: "DIR", help: "NATS store, node state and logs" },
      "nats-url": { type: "string", value: "URL", help: "join this NATS instead of starting an embedded one" },
      "nats-port": { type: "string", default: "4222", value: "PORT", help: "the embedded NATS's port" },
      "proxy-port": { type: "string", default: "8480", value: "PORT", help: "the proxy's HTTP port" },
      "ui-port": { type: "string", default: "8481", value: "PORT", help: "the UI's HTTP port" },
      driver: { type: "string", value: "docker|process", help: "container engine (default docker when an engine answers, else process)" },
      "node-id": { type: "string", default: "node-1", value: "ID", help: "the node's id (keep it to get the sandboxes back)" },
      domain: { type: "string", default: "corral.localhost", value: "DOMAIN", help: "the proxy's domain" },
    },
    { command: "up", summary: "A whole local Corral: embedded NATS, a node, the proxy and the UI; Ctrl-C stops them (Docker sandboxes survive)." },
  );
  if (positionals.length > 0) throw new InvalidArgumentError(`corral up takes no arguments, got ${positionals.join(" ")}`);
  if (values.driver !== undefined && values.driver !== "docker" && values.driver !== "process") {
    throw new InvalidArgumentError(`--driver: expected docker or process, got ${JSON.stringify(values.driver)}`);
  }
  const proxyPort = port("--proxy-port", values["proxy-port"]);
  const uiPort = port("--ui-port", values["ui-port"]);
  const natsPort = port("--nats-port", values["nats-port"]);
  const dataDir = path.resolve(values["data-dir"]);
  const logDir = path.join(dataDir, "logs");
  fs.mkdirSync(logDir, { recursive: true });
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const children: Child[] = [];
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    // Servers first, NATS last, so the node's last writes (lease, activity) still land.
    const nats = children.find((c) => c.name === "nats-server");
    await Promise.all(children.filter((c) => c !== nats).map((c) => stopChild(c)));
    if (nats) await stopChild(nats);
  };
  // A signal while starting up stops what is already running, then exits.
  const early = () => void stopAll().then(() => process.exit(130));
  process.once("SIGINT", early);
  process.once("SIGTERM", early);

  let natsUrl = values["nats-url"];
  const started: string[] = [];
  let clusterId: string | null = null;
  try {
    if (!natsUrl) {
      const logFile = path.join(logDir, "nats-server.log");
      const nats = await startEmbeddedNats(dataDir, natsPort, logFile, say);
      children.push(track("nats-server", nats.child, logFile));
      natsUrl = nats.url;
      say(`nats     ${natsUrl}  (embedded, JetStream store ${path.join(dataDir, "nats")})`);
    } else {
      say(`nats     ${natsUrl}  (joined)`);
    }
    const driver = values.driver ?? (await defaultDriverKind());
    say(`driver   ${driver}${values.driver ? "" : driver === "process" ? " (no Docker engine answers)" : " (a Docker engine answers)"}`);

    await requireFreePort(proxyPort, "--proxy-port");
    await requireFreePort(uiPort, "--ui-port");
    const nc = await connect({ servers: natsUrl, name: "corral-up" });
    try {
      const nodeDir = path.join(dataDir, `node-${values["node-id"]}`);
      const nodeArgs = ["--nats-url", natsUrl, "--node-id", values["node-id"], "--driver", driver, "--data-dir", nodeDir];
      const up = { children, say };
      const servers = await Promise.all([
        startServer("node", nodeArgs, logDir, () => apiAnswers(nc), up),
        startServer("proxy", ["--nats-url", natsUrl, "--port", String(proxyPort), "--domain", values.domain], logDir, () => httpOk(`http://127.0.0.1:${proxyPort}/healthz`), up),
        startServer("ui", ["--nats-url", natsUrl, "--port", String(uiPort)], logDir, () => httpOk(`http://127.0.0.1:${uiPort}/`), up),
      ]);
      for (const child of servers) if (child) started.push(child.name);
      // The node made it (or found it) before it served the API.
      if (started.includes("node")) clusterId = await readClusterId(nc);
    } finally {
      await nc.close();
    }
    if (!started.includes("node")) throw new InvalidArgumentError("this corral has no `node` command");
    say(`cluster  ${clusterId ?? "(unknown)"}  (label corral.cluster on every container)`);
    say(`node     ${values["node-id"]} (${driver} driver)  log ${path.join(logDir, "node.log")}`);
    if (started.includes("proxy")) say(`proxy    http://127.0.0.1:${proxyPort}  (http://<port>-<sandboxId>.${values.domain}:${proxyPort}/)`);
    if (started.includes("ui")) say(`ui       http://127.0.0.1:${uiPort}/`);
    say(`logs     ${logDir}`);
    say("");
    say(`try:     npx corral create --nats-url ${natsUrl} --timeout 600`);
    say("stop:    Ctrl-C (sandboxes in Docker keep running; `corral up` again brings them back)");
  } catch (err) {
    await stopAll();
    throw err;
  } finally {
    process.off("SIGINT", early);
    process.off("SIGTERM", early);
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
