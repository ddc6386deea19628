/**
 * A real browser for UI tests: Debian's chromium (installed by
 * `node scripts/bootstrap --browser`, which `npm test` runs) driven by
 * playwright-core. Never a downloaded browser. Each launch gets a fresh
 * profile, collects console errors, page errors and every requested URL, and
 * `close()` removes the profile.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";

/** The chromium binary: `CORRAL_CHROMIUM`, else Debian's. */
export const CHROMIUM_PATH = process.env.CORRAL_CHROMIUM ?? "/usr/bin/chromium";
const INSTALL_HINT = "chromium is not installed: run `node scripts/bootstrap --browser` (Debian: `apt-get install chromium`)";

/** Flags for a headless, quiet, sandbox-less chromium in a container (no GPU, no network of its own). */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** A browser with one profile. */
export interface TestBrowser {
  context: BrowserContext;
  /** Console messages of type error and uncaught page errors, from every page, as `url: text`. */
  errors: string[];
  /** Every URL any page requested. */
  requests: string[];
  /** A new tab. */
  newPage(): Promise<Page>;
  /** Logs this profile in to a UI: opens its `?token=` address once (which sets the session cookie). */
  login(loginUrl: string): Promise<void>;
  close(): Promise<void>;
}

/** Launches chromium headless with a fresh profile; fails with an install hint when it is missing. */
export async function launchBrowser(viewport = { width: 1440, height: 900 }): Promise<TestBrowser> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`${INSTALL_HINT} (no ${CHROMIUM_PATH})`);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "corral-chromium-"));
  // launchPersistentContext is how playwright takes a --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: FLAGS, viewport });
  const errors: string[] = [];
  const requests: string[] = [];
  const watch = (page: Page) => {
    page.on("console", (msg) => {
      if (msg.type() === "error") errors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on("pageerror", (err) => errors.push(`${page.url()}: uncaught ${err.message}`));
    page.on("request", (req) => requests.push(req.url()));
  };
  context.pages().forEach(watch);
  context.on("page", watch);
  return {
    context,
    errors,
    requests,
    newPage: () => context.newPage(),
    async login(loginUrl) {
      const page = await context.newPage();
      const reply = await page.goto(loginUrl);
      if (reply?.status() !== 200) throw new Error(`logging in to the UI answered ${reply?.status()}`);
      await page.close();
    },
    async close() {
      await context.close().catch(() => {});
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
