// The lint rule behind STYLE.md item 1: machines/ is pure. This proves the rule
// fires (a rule that silently stopped matching would let I/O creep in).
import { ESLint } from "eslint";
import { describe, expect, it } from "vitest";

const eslint = new ESLint({ cwd: process.cwd() });

async function ruleIds(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => m.ruleId ?? "");
}

describe("dependency direction", () => {
  it.each([
    ['import { connect } from "@nats-io/transport-node";'],
    ['import Docker from "dockerode";'],
    ['import fs from "node:fs";'],
    ['import { spawn } from "node:child_process";'],
    ['import { NodeActor } from "../actors/node/node-actor.js";'],
    ['import { SandboxStore } from "../src/store/store.js";'],
  ])("rejects %s in machines/", async (line) => {
    expect(await ruleIds(`${line}\nexport const x = 1;\n`, "machines/probe.ts")).toContain("no-restricted-imports");
  });

  it("allows the kernel and xstate in machines/", async () => {
    const ids = await ruleIds('import { setup } from "xstate";\nimport type { SandboxRecord } from "../src/schema/record.js";\nexport const x = setup;\nexport type Y = SandboxRecord;\n', "machines/probe.ts");
    expect(ids).not.toContain("no-restricted-imports");
  });

  it("rejects actors/ imports from the src/ kernel", async () => {
    expect(await ruleIds('import { x } from "../actors/node/x.js";\nexport const y = x;\n', "src/probe.ts")).toContain("no-restricted-imports");
  });
});
