/**
 * Serves the browser bundle built by `scripts/build-ui.mjs` into `dist/ui/`:
 * a fixed set of files looked up by name (no path from the URL ever reaches
 * the file system), so there is nothing to traverse.
 */
import { existsSync, readFileSync } from "node:fs";
import type { ServerResponse } from "node:http";
import path from "node:path";
import { packageRoot } from "../../src/package-root.js";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** `dist/ui` of the checkout this module runs from (source under vitest, or `dist/` after a build). */
export function defaultAssetsDir(): string {
  return path.join(packageRoot(), "dist", "ui");
}

/** The bundle's files, read once at start-up (they are small and immutable for the process's life). */
export class StaticFiles {
  readonly #files = new Map<string, { type: string; body: Buffer }>();

  /** @throws Error naming the build command when the bundle is missing */
  constructor(readonly dir: string) {
    if (!existsSync(path.join(dir, "index.html"))) {
      throw new Error(`corral ui: ${dir}/index.html is missing; build the UI with \`node scripts/build-ui.mjs\``);
    }
    for (const name of ["index.html", "app.js", "app.css", "app.js.map", "favicon.svg"]) {
      const file = path.join(dir, name);
      if (existsSync(file)) this.#files.set(`/${name}`, { type: TYPES[path.extname(name)] ?? "application/octet-stream", body: readFileSync(file) });
    }
  }

  /** Writes the file for `urlPath` (`/` is index.html); false when there is none. */
  serve(urlPath: string, res: ServerResponse): boolean {
    const file = this.#files.get(urlPath === "/" ? "/index.html" : urlPath);
    if (!file) return false;
    res.writeHead(200, {
      "Content-Type": file.type,
      "Content-Length": file.body.length,
      "Cache-Control": "no-cache",
      // Everything is local: no CDN, no external fonts, no inline scripts.
      "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'",
      "X-Content-Type-Options": "nosniff",
    });
    res.end(file.body);
    return true;
  }
}
