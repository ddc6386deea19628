// The visualizer in a real browser (issue 7): `corral ui` (the real command,
// serving the built bundle) against a real nats-server and a real node actor
// (process driver), driven by playwright-core in Debian's chromium. Every
// sandbox is created and changed through the API; the page must follow.
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MACHINE_STATES, sandboxMachine } from "../../machines/sandbox/machine.js";
import { machineGraph } from "../../actors/ui/machine-graph.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { newSandboxId } from "../../src/ids.js";
import type { SandboxEvent } from "../../src/events.js";
import type { SandboxRecord } from "../../src/schema/record.js";
import { launchBrowser, type TestBrowser } from "../helpers/browser.js";
import { useCorral } from "../helpers/corral.js";
import { spawnUi, type SpawnedUi } from "../helpers/ui.js";
import { waitUntil } from "../helpers/wait.js";

/** The contract's bound on how fast the page follows a transition. */
const LIVE_MS = 2_000;

const corral = useCorral({ prefix: "uiviews", driver: "process" });
let ui: SpawnedUi;
let browser: TestBrowser;
let cluster: Page;

beforeAll(async () => {
  ui = await spawnUi(corral.nats.url);
  browser = await launchBrowser();
  await browser.login(ui.loginUrl);
  cluster = await browser.newPage();
});

afterAll(async () => {
  await browser?.close();
  const code = await ui?.stop();
  if (code !== 0 && ui) console.error(`corral ui exited with ${code}:\n${ui.output()}`);
});

const row = (page: Page, id: string) => page.locator(`table.sandboxes tr[data-sandbox-id="${id}"]`);
const chartState = (page: Page) => page.locator("svg.chart g.state.current").getAttribute("data-state");

async function openSandbox(id: string): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(`${ui.url}#/sandbox/${id}`);
  await page.locator("svg.chart g.state.current").waitFor();
  return page;
}

/** Resolves with the ms it took `locator` to appear, failing after `LIVE_MS`. */
async function within(what: string, since: number, appear: () => Promise<void>): Promise<number> {
  try {
    await appear();
  } catch (err) {
    throw new Error(`${what} did not show within ${LIVE_MS} ms: ${(err as Error).message.split("\n")[0]}`);
  }
  return Date.now() - since;
}

function broadcastsOf(id: string): SandboxEvent[] {
  return corral.events.filter((e) => e.sandboxId === id).sort((a, b) => a.revision - b.revision);
}

describe("corral ui in a browser", () => {
  let sbx: SandboxRecord;

  it("loads with no console errors, from its own origin only, and goes live", async () => {
    await cluster.goto(ui.url);
    await cluster.locator('#connection[data-connection="live"]').waitFor({ timeout: 10_000 });
    await cluster.locator(".node-card", { hasText: corral.node.nodeId }).waitFor();
    expect(await cluster.locator(".cluster-id").textContent()).toBe(corral.node.node.clusterId);
    expect(browser.errors).toEqual([]);
    const origin = new URL(ui.url).origin;
    // Everything is bundled: no CDN, no web font, no request anywhere else.
    expect(browser.requests.filter((u) => !u.startsWith(`${origin}/`))).toEqual([]);
    expect(browser.requests.some((u) => u.endsWith("/app.js"))).toBe(true);
  });

  it("shows a sandbox created through the API within 2 s", async () => {
    sbx = await corral.client.create({ timeoutMs: 600_000, metadata: { suite: "ui", owner: "alice" } });
    const since = Date.now();
    const ms = await within("the new row", since, () => row(cluster, sbx.sandboxId).and(cluster.locator('[data-state="running"]')).waitFor({ timeout: LIVE_MS }));
    expect(ms).toBeLessThan(LIVE_MS);
    const r = row(cluster, sbx.sandboxId);
    expect(await r.locator("td").nth(1).textContent()).toBe("base");
    expect(await r.locator("td").nth(3).textContent()).toBe(corral.node.nodeId);
    expect(await r.locator(".chip").allTextContents()).toEqual(["suite=ui", "owner=alice"]);
    // The deadline counts down (10 minutes, so it reads 9m 5xs).
    const left = r.locator("td.time-left");
    const first = await left.textContent();
    expect(first).toMatch(/^(9m [0-5]\ds|10m 00s)$/);
    await waitUntil(async () => (await left.textContent()) !== first, { timeoutMs: 2_500, what: "the countdown to tick" });
  });

  it("after a pause through the API, its row and its chart show paused within 2 s", async () => {
    const page = await openSandbox(sbx.sandboxId);
    expect(await chartState(page)).toBe("running");
    await corral.client.pause(sbx.sandboxId);
    const since = Date.now();
    const [rowMs, chartMs] = await Promise.all([
      within("the paused row", since, () => row(cluster, sbx.sandboxId).and(cluster.locator('[data-state="paused"]')).waitFor({ timeout: LIVE_MS })),
      within("the paused chart", since, () => page.locator('svg.chart g.state.current[data-state="paused"]').waitFor({ timeout: LIVE_MS })),
    ]);
    expect(Math.max(rowMs, chartMs)).toBeLessThan(LIVE_MS);
    // The arrow it came by is marked, with the transition's label line.
    expect(await page.locator('svg.chart g.edge.taken[data-source="pausing"][data-target="paused"]').count()).toBe(1);
    expect(await page.locator("svg.chart .edge-label.taken").allTextContents()).toEqual(["driver paused (stored)"]);
    expect(await row(cluster, sbx.sandboxId).locator("td.time-left").textContent()).toBe("paused");
    await page.close();
  });

  it("draws every state and every transition of the machine definition", async () => {
    const page = await openSandbox(sbx.sandboxId);
    const drawn = await page.locator("svg.chart g.state").evaluateAll((els) => els.map((el) => el.getAttribute("data-state")));
    const defined = Object.keys(sandboxMachine.root.states);
    expect(new Set(drawn)).toEqual(new Set(defined));
    expect(new Set(defined)).toEqual(new Set(MACHINE_STATES));
    // Each transition of the definition is a label line of the arrow between its states, or an in-state line.
    const lines = await page.locator("svg.chart").evaluate((svg) => ({
      edges: [...svg.querySelectorAll("g.edge")].flatMap((g) =>
        [...g.querySelectorAll(".edge-label")].map((t) => `${g.getAttribute("data-source")}>${g.getAttribute("data-target")}:${t.textContent}`),
      ),
      internal: [...svg.querySelectorAll("g.state")].flatMap((g) => [...g.querySelectorAll(".state-internal")].map((t) => `${g.getAttribute("data-state")}:${t.textContent}`)),
    }));
    const graph = machineGraph(sandboxMachine);
    expect(lines.edges.sort()).toEqual(graph.edges.map((e) => `${e.source}>${e.target}:${e.label}`).sort());
    expect(lines.internal.sort()).toEqual(graph.nodes.flatMap((n) => n.internal.map((l) => `${n.id}:${l}`)).sort());
    await page.close();
  });

  it("lists the history in order; scrubbing shows the chart and record as they were", async () => {
    await corral.client.resume(sbx.sandboxId);
    await waitUntil(() => broadcastsOf(sbx.sandboxId).at(-1)?.to === "running", { what: "the resume broadcast" });
    const page = await openSandbox(sbx.sandboxId);
    const broadcasts = broadcastsOf(sbx.sandboxId);
    expect(broadcasts.map((e) => `${e.from ?? "-"}>${e.to}`)).toEqual([
      "->starting",
      "starting>running",
      "running>pausing",
      "pausing>paused",
      "paused>resuming",
      "resuming>running",
    ]);
    const items = page.locator(".timeline-item");
    await waitUntil(async () => (await items.count()) === broadcasts.length, { what: "every event in the timeline" });
    const listed = await items.evaluateAll((els) => els.map((el) => [Number(el.getAttribute("data-revision")), el.querySelector(".tl-event")!.textContent]));
    expect(listed).toEqual(broadcasts.map((e) => [e.revision, e.event]));

    // Scrub to the first event: the chart and the record as they were at create.
    const slider = page.getByRole("slider", { name: "Scrub history" });
    await slider.focus();
    await page.keyboard.press("Home");
    expect(await chartState(page)).toBe("starting");
    expect(await page.locator(".record-card .badge").textContent()).toBe("starting");
    expect(await page.locator('[data-testid="revision"]').textContent()).toBe(String(broadcasts[0]!.revision));
    expect(await page.locator(".scrub-banner").isVisible()).toBe(true);
    expect(await page.locator("svg.chart .initial-arrow.taken").count()).toBe(1);

    // One step on: running, reached by "driver started (stored)", and the diff says what the start wrote.
    await page.keyboard.press("ArrowRight");
    expect(await chartState(page)).toBe("running");
    expect(await page.locator('svg.chart g.edge.taken[data-source="starting"][data-target="running"]').count()).toBe(1);
    const changed = await page.locator(".diff-table tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-path")));
    expect(changed).toEqual(expect.arrayContaining(["state", "startedAt", "endAt"]));

    // Back to live: the current state again.
    await page.getByRole("button", { name: "Back to live" }).click();
    expect(await chartState(page)).toBe("running");
    expect(await page.locator(".scrub-banner").isVisible()).toBe(false);
    await page.close();
  });

  it("sets a timeout with confirmation and shows the revision's diff (endAt moved)", async () => {
    const page = await openSandbox(sbx.sandboxId);
    const before = await corral.client.get(sbx.sandboxId);
    await page.locator('button[data-action="set_timeout"]').click();
    const dialog = page.locator("dialog.confirm");
    await dialog.locator("input").fill("1800");
    await dialog.getByRole("button", { name: "Set timeout" }).click();
    const set = await waitUntil(() => broadcastsOf(sbx.sandboxId).find((e) => e.event === "set_timeout"), { what: "the set_timeout broadcast" });
    expect(set.record.timeoutMs).toBe(1_800_000);
    await page.locator(`.timeline-item[data-revision="${set.revision}"].selected`).waitFor({ timeout: LIVE_MS });
    const endAt = page.locator('.diff-table tr[data-path="endAt"]');
    expect(await endAt.locator(".note").textContent()).toMatch(/^moved by \+\d+m \d\ds$/);
    expect(set.record.endAt! - before.endAt!).toBeGreaterThan(0);
    expect(await page.locator('.diff-table tr[data-path="timeoutMs"] .after').textContent()).toContain("1800000 ms");
    await page.close();
  });

  it("shows a refused action as the contract's code and message", async () => {
    const page = await openSandbox(sbx.sandboxId);
    const apiError = await corral.client.setTimeout(sbx.sandboxId, -1000).catch((e: unknown) => e);
    expect(apiError).toBeInstanceOf(InvalidArgumentError);
    await page.locator('button[data-action="set_timeout"]').click();
    await page.locator("dialog.confirm input").fill("-1");
    await page.locator("dialog.confirm").getByRole("button", { name: "Set timeout" }).click();
    const shown = page.locator(".action-bar .action-error");
    await shown.waitFor();
    expect(await shown.locator(".error-code").textContent()).toBe("invalid_argument");
    expect(await shown.textContent()).toBe(`invalid_argument ${(apiError as Error).message}`);
    expect((await corral.client.get(sbx.sandboxId)).timeoutMs).toBe(1_800_000);
    await page.close();
  });

  it("filters the table by state, node and metadata", async () => {
    const other = await corral.client.create({ timeoutMs: 600_000, metadata: { suite: "ui", owner: "bob" } });
    await row(cluster, other.sandboxId).waitFor({ timeout: LIVE_MS });
    const shownIds = () => cluster.locator("table.sandboxes tbody tr").evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-sandbox-id")).sort());

    await cluster.getByRole("searchbox", { name: "Filter by metadata" }).fill("owner=bob");
    await waitUntil(async () => (await shownIds()).join() === other.sandboxId, { what: "only bob's sandbox" });
    expect(cluster.url()).toContain("meta=owner%3Dbob");

    await cluster.getByRole("searchbox", { name: "Filter by metadata" }).fill("suite=ui");
    await waitUntil(async () => (await shownIds()).length === 2, { what: "both ui sandboxes" });
    await cluster.locator('.state-filter button[data-state="paused"]').click();
    await waitUntil(async () => (await shownIds()).length === 0, { what: "no paused sandbox" });
    await corral.client.pause(other.sandboxId);
    await waitUntil(async () => (await shownIds()).join() === other.sandboxId, { timeoutMs: LIVE_MS, what: "the paused one to enter the filtered table" });

    await cluster.locator('.state-filter button[data-state="all"]').click();
    await cluster.getByRole("combobox", { name: "Filter by node" }).selectOption(corral.node.nodeId);
    await waitUntil(async () => (await shownIds()).length === 2, { what: "both on the node" });
    await cluster.getByRole("searchbox", { name: "Filter by metadata" }).fill("=bob");
    expect(await cluster.locator(".field-error").textContent()).toContain("expected key=value or key");
    await cluster.getByRole("searchbox", { name: "Filter by metadata" }).fill("");
    await cluster.getByRole("combobox", { name: "Filter by node" }).selectOption("");
  });

  it("the nodes panel shows the lease, capacity against allocation and counts by state", async () => {
    const card = cluster.locator(`.node-card[data-node-id="${corral.node.nodeId}"]`);
    expect(await card.locator(".lease-age").textContent()).toMatch(/^heartbeat (just now|\d+s ago)$/);
    expect(await card.locator(".meter-value").first().textContent()).toMatch(/^\d+(\.\d+)? \/ 64$/);
    await waitUntil(async () => (await card.locator('.count[data-state="paused"] b').textContent()) === "1", { what: "one paused on the node" });
    expect(await card.locator('.count[data-state="running"] b').textContent()).toBe("1");
  });

  it("says so for a sandbox that does not exist, and for an id that cannot exist", async () => {
    const page = await browser.newPage();
    await page.goto(`${ui.url}#/sandbox/${newSandboxId()}`);
    await page.getByRole("heading", { name: "Sandbox not found" }).waitFor();
    expect(await page.locator(".record-card").isVisible()).toBe(false);
    await page.goto(`${ui.url}#/sandbox/NOT-AN-ID`);
    const error = page.locator(".action-error", { hasText: "history unavailable" });
    await error.waitFor();
    expect(await error.locator(".error-code").textContent()).toBe("invalid_argument");
    await page.close();
  });

  it("the kill button kills the sandbox (after confirmation)", async () => {
    const page = await openSandbox(sbx.sandboxId);
    // Cancelling changes nothing.
    await page.locator('button[data-action="kill"]').click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Cancel" }).click();
    expect((await corral.client.get(sbx.sandboxId)).state).toBe("running");

    await page.locator('button[data-action="kill"]').click();
    await page.locator("dialog.confirm").getByRole("button", { name: "Kill" }).click();
    await page.locator('svg.chart g.state.current[data-state="killed"]').waitFor({ timeout: 10_000 });
    const killed = await corral.client.get(sbx.sandboxId);
    expect(killed).toMatchObject({ state: "killed", killReason: "request" });
    expect(await page.locator('button[data-action="kill"]').isDisabled()).toBe(true);
    await row(cluster, sbx.sandboxId).and(cluster.locator('[data-state="killed"]')).waitFor({ timeout: LIVE_MS });
    expect(await page.locator(".timeline-item .tl-event").allTextContents()).toEqual(broadcastsOf(sbx.sandboxId).map((e) => e.event));
    await page.close();
  });
});
