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
import type { NatsConnection } from "@nats-io/nats-core";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { DEFAULT_ADMIN_CREDS, NATS_AUTH_OPTIONS, natsAuthOf, parse } from "../../src/cli/args.js";
import type { Role } from "../../src/security/roles.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { defaultDriverKind } from "../../src/drivers/detect.js";
import { logger } from "../../src/log.js";
import { connectNats, describeServers, parseNatsUrls } from "../../src/nats/connection.js";
import { readClusterId } from "../../src/store/index.js";
import { SERVICE_NAME } from "../../src/subjects.js";
import { isUnknownCommand, spawnCorral, stopChild, track, waitReady, type Child } from "./children.js";
import { upApiKey } from "./e2b-key.js";
import { startEmbeddedNats } from "./embedded-nats.js";
import { readTokenFile } from "../ui/login.js";
import { ensureUiToken, secureUp, type SecuredUp } from "./security.js";
import { requireFreePort } from "./ports.js";
import { UP_PROXY_OPTIONS, proxyChildArgs, proxyProbeHost } from "./proxy-args.js";

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

/** The --tls-* flags of `corral up`, passed on to every child. */
function tlsArgs(values: { "tls-ca"?: string | undefined; "tls-cert"?: string | undefined; "tls-key"?: string | undefined }): string[] {
  const out: string[] = [];
  for (const flag of ["tls-ca", "tls-cert", "tls-key"] as const) {
    const file = values[flag];
    if (file !== undefined) out.push(`--${flag}`, path.resolve(file));
  }
  return out;
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
      "gateway-port": { type: "string", default: "8482", value: "PORT", help: "the E2B gateway's HTTP port" },
      driver: { type: "string", value: "docker|process", help: "container engine (default docker when an engine answers, else process)" },
      "node-id": { type: "string", default: "node-1", value: "ID", help: "the node's id (keep it to get the sandboxes back)" },
      domain: { type: "string", default: "corral.localhost", value: "DOMAIN", help: "the proxy's domain" },
      host: { type: "string", default: "127.0.0.1", value: "ADDR", help: "address the embedded NATS, the UI, the gateway and (unless --proxy-host) the proxy listen on" },
      "no-auth": { type: "boolean", default: false, help: "run NATS without accounts and credentials (not secured)" },
      ...NATS_AUTH_OPTIONS,
      ...UP_PROXY_OPTIONS,
    },
    { command: "up", summary: "A whole local Corral: embedded NATS, a node, the proxy and the UI; Ctrl-C stops them (Docker sandboxes survive)." },
  );
  if (positionals.length > 0) throw new InvalidArgumentError(`corral up takes no arguments, got ${positionals.join(" ")}`);
  if (values.driver !== undefined && values.driver !== "docker" && values.driver !== "process") {
    throw new InvalidArgumentError(`--driver: expected docker or process, got ${JSON.stringify(values.driver)}`);
  }
  const proxyPort = port("--proxy-port", values["proxy-port"]);
  const uiPort = port("--ui-port", values["ui-port"]);
  const gatewayPort = port("--gateway-port", values["gateway-port"]);
  const natsPort = port("--nats-port", values["nats-port"]);
  // Validated before anything starts; the URL is filled in once NATS is known.
  proxyChildArgs(values, "", proxyPort, values.domain, process.env);
  const proxyHost = proxyProbeHost(values["proxy-host"] ?? values.host);
  const proxyUrl = `http://${proxyHost.includes(":") ? `[${proxyHost}]` : proxyHost}:${proxyPort}`;
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
  if (natsUrl !== undefined) parseNatsUrls(natsUrl); // a malformed list fails before anything starts
  const started: string[] = [];
  let clusterId: string | null = null;
  const host = values.host;
  // Joined: every process uses the given --creds/--tls-*. Embedded: each its role's credentials.
  const joinedAuth = natsAuthOf(values);
  const uiTokenFile = ensureUiToken(dataDir);
  let secured: SecuredUp | null = null;
  const authArgs = (role: Role): string[] => [...(secured ? ["--creds", secured.creds[role]] : joinedAuth.creds ? ["--creds", joinedAuth.creds] : []), ...tlsArgs(values)];
  let e2bKey: string | null = null;
  try {
    if (!natsUrl) {
      const logFile = path.join(logDir, "nats-server.log");
      if (!values["no-auth"]) secured = await secureUp(dataDir);
      const nats = await startEmbeddedNats(dataDir, natsPort, logFile, say, { host, ...(secured ? { configFile: secured.configFile } : {}) });
      children.push(track("nats-server", nats.child, logFile));
      natsUrl = nats.url;
      say(`nats     ${natsUrl}  (embedded, JetStream store ${path.join(dataDir, "nats")})`);
      if (secured) say(`auth     on: credentials per role in ${path.dirname(secured.creds.admin)}`);
    } else {
      say(`nats     ${describeServers(parseNatsUrls(natsUrl))}  (joined)`);
    }
    const driver = values.driver ?? (await defaultDriverKind());
    say(`driver   ${driver}${values.driver ? "" : driver === "process" ? " (no Docker engine answers)" : " (a Docker engine answers)"}`);

    await requireFreePort(proxyPort, "--proxy-port");
    await requireFreePort(uiPort, "--ui-port");
    await requireFreePort(gatewayPort, "--gateway-port");
    // A joined NATS that is not up yet is waited for (logged), as by every server process.
    const upAuth = secured ? { ...joinedAuth, creds: secured.creds.admin } : joinedAuth;
    const nc = await connectNats({ natsUrl, name: "corral-up", auth: upAuth }, { wait: true, log: logger("up") });
    try {
      const nodeDir = path.join(dataDir, `node-${values["node-id"]}`);
      const nodeArgs = ["--nats-url", natsUrl, ...authArgs("node"), "--node-id", values["node-id"], "--driver", driver, "--data-dir", nodeDir];
      const up = { children, say };
      const uiArgs = ["--nats-url", natsUrl, ...authArgs("ui"), "--port", String(uiPort), "--host", host, "--token-file", uiTokenFile];
      const servers = await Promise.all([
        startServer("node", nodeArgs, logDir, () => apiAnswers(nc), up),
        startServer("proxy", [...proxyChildArgs(values, natsUrl, proxyPort, values.domain, process.env), ...authArgs("proxy")], logDir, () => httpOk(`${proxyUrl}/healthz`), up),
        startServer("ui", uiArgs, logDir, () => httpOk(`http://127.0.0.1:${uiPort}/healthz`), up),
        startServer("gateway", ["--nats-url", natsUrl, ...authArgs("gateway"), "--port", String(gatewayPort), "--host", host], logDir, () => httpOk(`http://127.0.0.1:${gatewayPort}/health`), up),
      ]);
      for (const child of servers) if (child) started.push(child.name);
      // The node made it (or found it) before it served the API.
      if (started.includes("gateway")) e2bKey = await upApiKey(nc, dataDir);
      if (started.includes("node")) clusterId = await readClusterId(nc);
    } finally {
      await nc.close();
    }
    if (!started.includes("node")) throw new InvalidArgumentError("this corral has no `node` command");
    say(`cluster  ${clusterId ?? "(unknown)"}  (label corral.cluster on every container)`);
    say(`node     ${values["node-id"]} (${driver} driver)  log ${path.join(logDir, "node.log")}`);
    if (started.includes("proxy")) say(`proxy    ${proxyUrl}  (http://<port>-<sandboxId>.${values.domain}:${proxyPort}/)`);
    // The login address is the contract's way in to the UI: printed here, never logged.
    if (started.includes("ui")) say(`ui       http://127.0.0.1:${uiPort}/?token=${readTokenFile(uiTokenFile)}`);
    if (started.includes("gateway")) {
      say(`gateway  http://127.0.0.1:${gatewayPort}  (E2B_API_URL; E2B_SANDBOX_URL=${proxyUrl})`);
      if (e2bKey) say(`e2b key  ${e2bKey}`);
    }
    say(`logs     ${logDir}`);
    say("");
    // The admin credentials of the default data dir are found by themselves (./.corral/creds/admin.creds).
    const credsHint = secured && path.resolve(DEFAULT_ADMIN_CREDS) !== secured.creds.admin ? ` --creds ${secured.creds.admin}` : "";
    say(`try:     npx corral create --nats-url ${natsUrl}${credsHint} --timeout 600`);
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
