/**
 * Entry of the bench's helper processes (the density host, the contract
 * floors): `node bench/lib/child.mjs <module.ts> <export> [args...]` bundles
 * the module like the runner does (import-ts.mjs) and awaits
 * `<export>(args)`; the process exits when it resolves.
 */
import { importTs } from "./import-ts.mjs";

const [module, fn, ...args] = process.argv.slice(2);
const mod = await importTs(module);
await mod[fn](args);
process.exit(0);
