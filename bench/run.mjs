#!/usr/bin/env node
/**
 * `npm run bench` (after bootstrap and build): `node bench/run.mjs [suite...] [--flags]`.
 * The benchmarks are TypeScript (type-checked and linted with the rest); this
 * shim bundles them against dist/ and runs bench/main.ts. `--help` lists the
 * suites and their parameters. See docs/performance.md.
 */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { importTs } from "./lib/import-ts.mjs";

const { main } = await importTs("bench/main.ts");
const code = await main(process.argv.slice(2), path.dirname(fileURLToPath(import.meta.url)));
// Exit explicitly: a suite failed by its watchdog may leave a wedged engine request open.
process.exit(code);
