/**
 * Runs the TypeScript benchmarks against the BUILT code. The bench sources
 * (bench/**\/*.ts) and the test helpers they reuse (test/helpers/*.ts, e.g.
 * startNats) are bundled by esbuild into one ESM file, but every import that
 * lands in src/, actors/ or machines/ is left external and pointed at its
 * compiled twin under dist/. So what is measured is exactly what `npm run
 * build` produced, and there is one copy of each module in the process.
 *
 * The bundle goes to node_modules/.cache/corral-bench/, where Node finds the
 * repo's node_modules for the bare imports (nats.js, dockerode, ...).
 */
import { build } from "esbuild";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const BUILT_ROOTS = ["src", "actors", "machines"];
const CACHE_DIR = path.join(REPO, "node_modules", ".cache", "corral-bench");

/** esbuild plugin: relative imports into src/actors/machines -> dist/**.js (external). */
const useDist = {
  name: "use-dist",
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const abs = path.resolve(args.resolveDir, args.path);
      const rel = path.relative(REPO, abs);
      if (!BUILT_ROOTS.includes(rel.split(path.sep)[0])) return undefined;
      const built = path.join(REPO, "dist", rel).replace(/\.ts$/, ".js");
      if (!fs.existsSync(built)) {
        return { errors: [{ text: `${built} does not exist: run \`npm run build\` first (npm run bench does)` }] };
      }
      return { path: pathToFileURL(built).href, external: true };
    });
  },
};

/**
 * esbuild plugin: `import.meta.{url,dirname,filename}` in a bundled .ts file
 * keep meaning that file (test/helpers/node.ts finds dist/actors/corral.js
 * from its own dirname), not the bundle in the cache dir.
 */
const keepImportMeta = {
  name: "keep-import-meta",
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await fs.promises.readFile(args.path, "utf8");
      const contents = source
        .replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href))
        .replaceAll("import.meta.dirname", JSON.stringify(path.dirname(args.path)))
        .replaceAll("import.meta.filename", JSON.stringify(args.path));
      return { contents, loader: "ts" };
    });
  },
};

/**
 * Bundles `entry` (a path relative to the repo root) and imports it.
 * @param {string} entry
 * @returns {Promise<Record<string, unknown>>}
 */
export async function importTs(entry) {
  fs.mkdirSync(CACHE_DIR, { recursive: true });
  const outfile = path.join(CACHE_DIR, entry.replace(/[\\/]/g, "_").replace(/\.ts$/, ".mjs"));
  await build({
    entryPoints: [path.join(REPO, entry)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    sourcemap: "inline",
    logLevel: "error",
    plugins: [useDist, keepImportMeta],
  });
  process.setSourceMapsEnabled(true);
  return import(pathToFileURL(outfile).href);
}
