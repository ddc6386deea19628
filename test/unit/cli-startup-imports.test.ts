// A client command (`corral ls`, `corral get`, ...) starts without loading
// the server commands: actors/commands.ts imports each server command's
// module only when that command runs. This walks the static import graph of
// the executable (type-only and dynamic imports excluded, as tsc emits them)
// and fails if it reaches a server module or its heavy dependencies again.
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const STATIC_IMPORT = /^(?:import|export)\s+(?!type\s)(?:[^;]*?\s+from\s+)?"([^"]+)";/gms;

/** Every file and package the module at `entry` loads before its first line runs. */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const todo = [path.join(ROOT, entry)];
  for (let file = todo.pop(); file !== undefined; file = todo.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    for (const [, spec] of fs.readFileSync(file, "utf8").matchAll(STATIC_IMPORT)) {
      if (spec!.startsWith(".")) todo.push(path.resolve(path.dirname(file), spec!.replace(/\.js$/, ".ts")));
      else if (!spec!.startsWith("node:")) packages.add(spec!.startsWith("@") ? spec!.split("/").slice(0, 2).join("/") : spec!.split("/")[0]!);
    }
  }
  return { files: new Set([...files].map((f) => path.relative(ROOT, f))), packages };
}

describe("the corral executable's start-up", () => {
  const { files, packages } = staticGraph("actors/corral.ts");

  it("reaches the client commands statically", () => {
    expect(files).toContain("src/cli/client-commands.ts");
    expect(packages).toContain("@nats-io/nats-core");
  });

  it("loads no server command, engine driver, state machine or UI until one of them runs", () => {
    const server = [...files].filter((f) => /^actors\/(node|proxy|ui|gateway|up)\/|^machines\/|^src\/drivers\//.test(f));
    expect(server).toEqual([]);
    for (const heavy of ["xstate", "dockerode", "pino-pretty"]) expect(packages, heavy).not.toContain(heavy);
  });
});
