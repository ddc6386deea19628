/**
 * Entry of the density suite's node host process (see density-host.ts):
 * `node --expose-gc bench/lib/density-host.mjs '<json options>'`.
 */
import { importTs } from "./import-ts.mjs";

const { hostMain } = await importTs("bench/lib/density-host.ts");
await hostMain(process.argv.slice(2));
process.exit(0);
