#!/usr/bin/env node
// Takes the screenshots of the visualizer in docs/ from a real running stack:
// a fresh nats-server (random port, temp store), two `corral node`s (process
// driver) and `corral ui`, all from dist/; sandboxes are created and changed
// through the API, then Debian's chromium (playwright-core) captures the
// cluster view and a sandbox view. Everything it started is stopped and every
// sandbox killed before it exits.
//
//   npm run build && node scripts/ui-screenshots.mjs [--out docs]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { chromium } from "playwright-core";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const bin = path.join(root, "dist", "actors", "corral.js");
const { values } = parseArgs({ options: { out: { type: "string", default: path.join(root, "docs") } } });
const chromiumPath = process.env.CORRAL_CHROMIUM ?? "/usr/bin/chromium";
if (!fs.existsSync(bin) || !fs.existsSync(path.join(root, "dist", "ui", "index.html"))) throw new Error("build first: npm run build");
if (!fs.existsSync(chromiumPath)) throw new Error("chromium is missing: node scripts/bootstrap --browser");
const { CorralClient } = await import(path.join(root, "dist", "src", "client", "client.js"));

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "corral-shots-"));
const children = [];

/** Spawns a process and resolves with it once `ready(output)` matches. */
function start(name, cmd, args, ready) {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CORRAL_LOG_LEVEL: "warn" } });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready in 30 s:\n${output}`)), 30_000);
    const onData = (chunk) => {
      output += chunk;
      const match = ready(output);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${name} exited (${code}):\n${output}`)));
  });
}

let client;
const created = [];
try {
  const port = await start("nats-server", "nats-server", ["-js", "-a", "127.0.0.1", "-p", "-1", "-sd", path.join(tmp, "nats")], (out) =>
    out.includes("Server is ready") ? /Listening for client connections on [^\s]*:(\d+)/.exec(out)?.[1] : null,
  );
  const natsUrl = `nats://127.0.0.1:${port}`;
  for (const [id, cpu, memory] of [["node-1", "8", "16384"], ["node-2", "4", "8192"]]) {
    const args = [bin, "node", "--nats-url", natsUrl, "--node-id", id, "--driver", "process", "--data-dir", path.join(tmp, id), "--cpu", cpu, "--memory-mb", memory, "--max-sandboxes", "50"];
    await start(id, process.execPath, args, (out) => out.includes(`corral node ${id}:`));
  }
  // The UI asks for a login token: a throwaway one, used once below to log the browser in.
  const tokenFile = path.join(tmp, "ui-token");
  const token = randomBytes(24).toString("base64url");
  fs.writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  const uiArgs = [bin, "ui", "--nats-url", natsUrl, "--port", "0", "--token-file", tokenFile, "--json"];
  const uiUrl = await start("corral ui", process.execPath, uiArgs, (out) => /\{"ui":"([^"]+)"\}/.exec(out)?.[1]);
  client = await CorralClient.connect({ natsUrl });

  const make = async (request) => {
    const sbx = await client.create(request);
    created.push(sbx.sandboxId);
    return sbx;
  };
  const agent = await make({ timeoutMs: 900_000, metadata: { user: "alice", agent: "planner" } });
  const notebook = await make({ timeoutMs: 600_000, lifecycle: { onTimeout: "pause", autoResume: true }, metadata: { user: "bob", kind: "notebook" } });
  const ci = await make({ timeoutMs: 300_000, metadata: { job: "ci-4821", repo: "corral" } });
  await make({ expiration: "manual", metadata: { user: "alice", kind: "ide" } });
  const old = await make({ timeoutMs: 120_000, metadata: { job: "ci-4820" } });
  await make({ timeoutMs: 1_800_000, metadata: { user: "carol" }, resources: { cpu: 2, memoryMB: 2048 } });
  await client.pause(notebook.sandboxId);
  await client.kill(old.sandboxId);
  await client.setTimeout(ci.sandboxId, 120_000);
  // The sandbox shown in its own view: paused, resumed, then its deadline moved.
  await client.pause(agent.sandboxId);
  await client.resume(agent.sandboxId);
  await client.setTimeout(agent.sandboxId, 1_800_000);

  const profile = path.join(tmp, "chromium");
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 1440, height: 900 },
    deviceScaleFactor: 1,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    await page.goto(`${uiUrl}?token=${token}`);
    await page.locator(`tr[data-sandbox-id="${agent.sandboxId}"]`).waitFor();
    await page.locator(".node-card").nth(1).waitFor();
    fs.mkdirSync(values.out, { recursive: true });
    await page.screenshot({ path: path.join(values.out, "ui-cluster.png") });

    await page.goto(`${uiUrl}#/sandbox/${agent.sandboxId}`);
    await page.locator(".timeline-item.selected .tl-event", { hasText: "set_timeout" }).waitFor();
    await page.locator('svg.chart g.state.current[data-state="running"]').waitFor();
    await page.screenshot({ path: path.join(values.out, "ui-sandbox.png"), fullPage: true });
    console.log(`ui-screenshots: wrote ${path.join(values.out, "ui-cluster.png")} and ui-sandbox.png`);
  } finally {
    await browser.close();
  }
} finally {
  if (client) {
    await Promise.allSettled(created.map((id) => client.kill(id)));
    await client.close();
  }
  // Nodes and UI first, nats-server last.
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}
