// The visualizer survives a NATS restart (issue 7): while nats-server is down
// the page keeps showing the last known state and says it is reconnecting;
// once the server is back it says so, catches up with what it missed, and
// follows new transitions again. Real nats-server (killed and restarted on the
// same port and store), real node actor, `corral ui` as a child process.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { useCorral } from "../helpers/corral.js";
import { spawnUi, type SpawnedUi } from "../helpers/ui.js";
import { waitUntil } from "../helpers/wait.js";

const corral = useCorral({ prefix: "uireconnect", driver: "process" });
let ui: SpawnedUi;
let browser: TestBrowser;
/** Short reply timeout: a request sent while the connection is still reconnecting is lost, so retry it soon. */
let client: CorralClient;

beforeAll(async () => {
  client = await CorralClient.connect({ natsUrl: corral.nats.url, timeoutMs: 2_000 });
  ui = await spawnUi(corral.nats.url);
  browser = await launchBrowser();
  await browser.login(ui.loginUrl);
});

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await ui?.stop();
});

const indicator = (page: Page) => page.locator("#connection");

async function healthz(): Promise<number> {
  return (await fetch(new URL("healthz", ui.url))).status;
}

describe("corral ui across a NATS restart", () => {
  let sbx: SandboxRecord;
  let cluster: Page;
  let detail: Page;

  it("says it is reconnecting while NATS is down, and keeps the last known state", async () => {
    sbx = await client.create({ timeoutMs: 600_000, metadata: { suite: "ui-reconnect" } });
    cluster = await browser.newPage();
    await cluster.goto(ui.url);
    await cluster.locator(`tr[data-sandbox-id="${sbx.sandboxId}"][data-state="running"]`).waitFor({ timeout: 5_000 });
    detail = await browser.newPage();
    await detail.goto(`${ui.url}#/sandbox/${sbx.sandboxId}`);
    await detail.locator('svg.chart g.state.current[data-state="running"]').waitFor();
    expect(await indicator(cluster).getAttribute("data-connection")).toBe("live");

    await corral.nats.kill();
    for (const page of [cluster, detail]) {
      await page.locator('#connection[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
      expect(await indicator(page).textContent()).toMatch(/reconnecting/i);
    }
    expect(await healthz()).toBe(503);
    // Still usable: the last known state stays on screen and navigation works.
    expect(await cluster.locator(`tr[data-sandbox-id="${sbx.sandboxId}"]`).getAttribute("data-state")).toBe("running");
    await cluster.locator(`tr[data-sandbox-id="${sbx.sandboxId}"] a`).click();
    await cluster.locator('svg.chart g.state.current[data-state="running"]').waitFor();
    await cluster.goBack();
    await cluster.locator(`tr[data-sandbox-id="${sbx.sandboxId}"]`).waitFor();
  });

  it("goes live again when NATS is back and follows new transitions", async () => {
    await corral.nats.start();
    for (const page of [cluster, detail]) await page.locator('#connection[data-connection="live"]').waitFor({ timeout: 20_000 });
    expect(await healthz()).toBe(200);
    // The node reconnects on its own; the API answers once it has.
    await waitUntil(() => client.get(sbx.sandboxId).then((r) => r.state === "running"), { timeoutMs: 20_000, what: "the API after the restart" });
    await client.pause(sbx.sandboxId);
    await cluster.locator(`tr[data-sandbox-id="${sbx.sandboxId}"][data-state="paused"]`).waitFor({ timeout: 2_000 });
    await detail.locator('svg.chart g.state.current[data-state="paused"]').waitFor({ timeout: 2_000 });
    const events = await detail.locator(".timeline-item .tl-event").allTextContents();
    expect(events).toEqual(["create", "started", "pause", "paused"]);
  });

  it("catches up with transitions made while the UI server itself was down", async () => {
    // The browser loses its server this time: stop it, change the sandbox, start it again on the same port.
    const code = await ui.stop();
    expect(code).toBe(0);
    await cluster.locator('#connection[data-connection="reconnecting"]').waitFor({ timeout: 10_000 });
    expect(await indicator(cluster).textContent()).toMatch(/reconnecting/i);
    await client.resume(sbx.sandboxId);
    const port = new URL(ui.url).port;
    ui = await spawnUi(corral.nats.url, {}, Number(port));
    await cluster.locator('#connection[data-connection="live"]').waitFor({ timeout: 10_000 });
    await cluster.locator(`tr[data-sandbox-id="${sbx.sandboxId}"][data-state="running"]`).waitFor({ timeout: 2_000 });
    await detail.locator('svg.chart g.state.current[data-state="running"]').waitFor({ timeout: 5_000 });
    await waitUntil(async () => (await detail.locator(".timeline-item").count()) === 6, { what: "the missed events in the timeline" });
    expect(browser.errors.filter((e) => !/Failed to load resource|ERR_CONNECTION_REFUSED|EventSource/.test(e))).toEqual([]);
  });
});
