// docs/lifecycle.md cannot drift: its Mermaid block must equal the diagram
// generated from the transition table, and every test it cites as proof of a
// trap must exist under that name in that file.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { lifecycleMermaid } from "../../machines/sandbox/mermaid.js";
import { TRANSITIONS } from "../../machines/sandbox/transitions.js";

const DOC = readFileSync(new URL("../../docs/lifecycle.md", import.meta.url), "utf8");

describe("docs/lifecycle.md", () => {
  it("contains exactly the generated diagram", () => {
    const blocks = [...DOC.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
    expect(blocks).toHaveLength(1);
    expect(blocks[0]).toBe(lifecycleMermaid());
  });

  it("the generated diagram has one arrow per (source, row) and the idempotency note", () => {
    const text = lifecycleMermaid();
    const arrows = text.split("\n").filter((l) => l.includes("-->") && !l.includes("[*]"));
    const expected = TRANSITIONS.reduce((n, row) => n + (row.from === "any" ? 0 : row.from.length), 0);
    expect(arrows).toHaveLength(expected);
    expect(text).toMatch(/^stateDiagram-v2\n {4}\[\*\] --> starting\n/);
    expect(text).toContain("note right of killed");
    expect(text.endsWith("    killed --> [*]\n")).toBe(true);
  });

  it("cites only tests that exist", () => {
    const citations = [...DOC.matchAll(/`(test\/[^`]+\.test\.ts)` › ([^|;\n]+?)(?=\s*(?:\||;|$))/gm)].map((m) => [m[1]!, m[2]!.trim()]);
    expect(citations.length).toBeGreaterThanOrEqual(9);
    for (const [file, name] of citations) {
      const source = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
      expect(source, `${file} has no test named "${name}"`).toContain(name);
    }
  });
});
