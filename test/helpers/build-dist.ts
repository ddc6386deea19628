/**
 * Global setup of the integration project: brings `dist/` up to date
 * (incremental tsc, about a second when nothing changed), because tests that
 * spawn `corral` as a child process run the built executable, and rebuilds
 * the UI's browser bundle (`dist/ui`, well under a second), which the UI
 * server serves even when it runs from source.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";

export default function buildDist(): void {
  const root = path.resolve(import.meta.dirname, "../..");
  execFileSync(process.execPath, [path.join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" });
  execFileSync(process.execPath, [path.join(root, "scripts/build-ui.mjs")], { cwd: root, stdio: "inherit" });
}
