import { describe, expect, it } from "vitest";
import { resolveCreate } from "../../src/api/resolve-create.js";
import { keyValues, positionals, secondsToMs } from "../../src/cli/args.js";
import { formatRemaining, table } from "../../src/cli/output.js";
import { resolveConfig } from "../../src/config.js";
import { CorralError } from "../../src/errors.js";
import { TemplateRegistry } from "../../src/templates.js";

const config = resolveConfig({}, {});

describe("CLI arguments", () => {
  it("converts whole seconds and rejects anything else with invalid_argument", () => {
    expect(secondsToMs("--timeout", "90", 1)).toBe(90_000);
    expect(secondsToMs("SECONDS", "0", 0)).toBe(0);
    expect(secondsToMs("--timeout", undefined, 1)).toBeUndefined();
    for (const bad of ["-1", "1.5", "abc", "", "1e3"]) {
      expect(() => secondsToMs("--timeout", bad, 1)).toThrow(CorralError);
    }
    expect(() => secondsToMs("--timeout", "0", 1)).toThrow(/at least 1/);
  });

  it("parses repeated k=v pairs, keeping '=' inside values", () => {
    expect(keyValues("--metadata", ["user=alice", "q=a=b"])).toEqual({ user: "alice", q: "a=b" });
    expect(() => keyValues("--metadata", ["novalue"])).toThrow(/key=value/);
    expect(() => keyValues("--metadata", ["=x"])).toThrow(/key=value/);
  });

  it("checks positional counts with a usage line", () => {
    expect(positionals("refresh", ["id"], ["ID", "SECONDS"], 1)).toEqual(["id"]);
    expect(() => positionals("get", [], ["ID"])).toThrow("usage: corral get ID");
    expect(() => positionals("get", ["a", "b"], ["ID"])).toThrow(/usage/);
  });

  it("formats tables and remaining time", () => {
    expect(table(["A", "BB"], [["xx", "y"]])).toBe("A   BB\nxx  y");
    expect(formatRemaining(null)).toBe("-");
    expect(formatRemaining(1_000, 2_000)).toBe("expired");
    expect(formatRemaining(61_000, 0)).toBe("1m 1s");
    expect(formatRemaining(3_700_000, 0)).toBe("1h 1m");
  });
});

describe("resolveCreate (defaults applied once, at the edge)", () => {
  const templates = new TemplateRegistry();

  it("applies every documented default", () => {
    expect(resolveCreate({}, config, templates)).toEqual({
      template: "base",
      timeoutMs: 300_000,
      expiration: "ttl",
      lifecycle: { onTimeout: "kill", autoResume: false, idle: false },
      metadata: {},
      env: {},
      resources: { cpu: 1, memoryMB: 512 },
      secure: true,
      key: null,
      tenant: null,
    });
  });

  it("rejects a timeout above maxTimeoutMs and an unknown template as invalid_argument", () => {
    expect(() => resolveCreate({ timeoutMs: config.maxTimeoutMs + 1 }, config, templates)).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    expect(() => resolveCreate({ template: "nope" }, config, templates)).toThrow(expect.objectContaining({ code: "invalid_argument" }));
  });
});
