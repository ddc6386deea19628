// The visualizer shows a node's warm pool (docs/warm-pool.md): `corral ui`
// in a real browser against a real node with `--warm base=1` (docker
// driver). The node card counts the ready member; the sandbox table lists
// the claimed sandbox only, never a member.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { useCorral } from "../helpers/corral.js";
import { spawnUi, type SpawnedUi } from "../helpers/ui.js";
import { waitUntil } from "../helpers/wait.js";

const corral = useCorral({ prefix: "uiwarm", warm: ["base=1"] });
let ui: SpawnedUi;
let browser: TestBrowser;
let page: Page;

beforeAll(async () => {
  ui = await spawnUi(corral.nats.url);
  browser = await launchBrowser();
  await browser.login(ui.loginUrl);
  page = await browser.newPage();
  await page.goto(ui.url);
});

afterAll(async () => {
  await browser?.close();
  await ui?.stop();
});

describe("ui warm counts", () => {
  it("the node card counts the ready member; the table lists sandboxes, never members", async () => {
    const warm = page.locator(`.node-card[data-node-id="${corral.node.nodeId}"] .count.warm[data-warm="base"] b`);
    await waitUntil(async () => (await warm.textContent({ timeout: 1_000 }).catch(() => null)) === "1", { timeoutMs: 60_000, what: "1 warm base on the node card" });
    expect(await page.locator("table.sandboxes tr[data-sandbox-id]").count()).toBe(0);

    const created = await corral.client.create({});
    await page.locator(`table.sandboxes tr[data-sandbox-id="${created.sandboxId}"]`).waitFor({ timeout: 5_000 });
    // The claim took the member; the refill brings the count back.
    await waitUntil(async () => (await warm.textContent({ timeout: 1_000 }).catch(() => null)) === "1", { timeoutMs: 60_000, what: "the refill on the node card" });
    expect(await page.locator("table.sandboxes tr[data-sandbox-id]").count()).toBe(1);
    await corral.client.kill(created.sandboxId);
  });
});
