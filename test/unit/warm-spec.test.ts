import { describe, expect, it } from "vitest";
import { parseWarmSpec } from "../../actors/node/warm/warm-spec.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { TemplateRegistry } from "../../src/templates.js";

const templates = new TemplateRegistry([{ name: "py", image: "python:3", readyPort: 8000, readyTimeoutMs: 30_000 }]);

describe("parseWarmSpec", () => {
  it("reads repeated --warm pairs", () => {
    expect([...parseWarmSpec(["base=3", "py=1"], undefined, templates)]).toEqual([["base", 3], ["py", 1]]);
  });

  it("reads CORRAL_WARM when no flag is given, and flags replace it", () => {
    expect([...parseWarmSpec(undefined, " base=2 , py=4 ", templates)]).toEqual([["base", 2], ["py", 4]]);
    expect([...parseWarmSpec(["py=1"], "base=2", templates)]).toEqual([["py", 1]]);
    expect(parseWarmSpec([], "", templates).size).toBe(0);
  });

  it.each([
    [["nope=1"], /template "nope" does not exist/],
    [["base"], /expected TEMPLATE=N/],
    [["=3"], /expected TEMPLATE=N/],
    [["base=0"], /whole number 1\.\.1000/],
    [["base=1.5"], /whole number/],
    [["base=-1"], /whole number/],
    [["base=1001"], /whole number/],
    [["base= 2"], /whole number/],
    [["base=1", "base=2"], /named twice/],
  ])("rejects %j", (flags, message) => {
    expect(() => parseWarmSpec(flags, undefined, templates)).toThrow(InvalidArgumentError);
    expect(() => parseWarmSpec(flags, undefined, templates)).toThrow(message);
  });

  it("names the environment variable in its errors", () => {
    expect(() => parseWarmSpec(undefined, "base=x", templates)).toThrow(/^CORRAL_WARM: /);
  });
});
