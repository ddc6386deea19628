#!/usr/bin/env node
// Builds the visualizer's browser app (actors/ui/web) into dist/ui/: one
// JavaScript bundle, one stylesheet, index.html and the icon. Everything the
// page loads is in that directory (no CDN, no web fonts), so `corral ui` works
// on a machine without internet. Run by `npm run build`.
//
// esbuild only strips types; `npm run typecheck:web` typechecks the app.
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const src = path.join(root, "actors", "ui", "web");
const out = path.join(root, "dist", "ui");
const started = Date.now();

fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const common = { bundle: true, minify: true, sourcemap: true, logLevel: "warning", target: ["es2022", "chrome110", "firefox110", "safari16"] };
await Promise.all([
  build({ ...common, entryPoints: [path.join(src, "main.ts")], outfile: path.join(out, "app.js"), format: "esm", platform: "browser" }),
  // Only local files may be referenced; `external` is empty on purpose so a url() to the network fails the build.
  build({ ...common, entryPoints: [path.join(src, "styles", "app.css")], outfile: path.join(out, "app.css"), sourcemap: false }),
]);
for (const file of ["index.html", "favicon.svg"]) fs.copyFileSync(path.join(src, file), path.join(out, file));

const size = fs.readdirSync(out).reduce((sum, f) => sum + fs.statSync(path.join(out, f)).size, 0);
console.log(`build-ui: dist/ui (${Math.round(size / 1024)} KiB) in ${Date.now() - started} ms`);
