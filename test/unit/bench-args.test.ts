/** The benchmark runner's command line: suites, parameters from flags and the environment, typos. */
import { describe, expect, it } from "vitest";
import { UsageError, parseArgs, resolveParams, unknownFlags, usage } from "../../bench/lib/args.js";
import type { ParamSpec } from "../../bench/lib/types.js";

const specs: Record<string, ParamSpec> = {
  creates: { default: 30, quick: 3, doc: "creates" },
  pauses: { default: 200, doc: "pauses" },
};

describe("parseArgs", () => {
  it("takes suites, flags in both spellings and the runner's options", () => {
    const args = parseArgs(["driver", "store", "--quick", "--driver.creates=5", "--pauses", "7", "--out", "/tmp/x", "--no-save", "--suite-timeout=30"]);
    expect(args).toMatchObject({ suites: ["driver", "store"], quick: true, save: false, outDir: "/tmp/x", suiteTimeoutS: 30 });
    expect([...args.values]).toEqual([
      ["driver.creates", "5"],
      ["pauses", "7"],
    ]);
  });

  it("defaults to every suite, saving to bench/results, 600 s per suite", () => {
    expect(parseArgs([])).toMatchObject({ suites: [], quick: false, help: false, save: true, outDir: "bench/results", suiteTimeoutS: 600 });
  });

  it("rejects a flag without a value and a bad suite timeout", () => {
    expect(() => parseArgs(["--creates"])).toThrow(UsageError);
    expect(() => parseArgs(["--suite-timeout=0"])).toThrow(/seconds > 0/);
  });
});

describe("resolveParams", () => {
  it("prefers --suite.param, then --param, then BENCH_SUITE_PARAM, then the default (or the quick value)", () => {
    const env = { BENCH_DRIVER_CREATES: "11", BENCH_DRIVER_PAUSES: "12" };
    expect(resolveParams("driver", specs, parseArgs([]), {})).toEqual({ creates: 30, pauses: 200 });
    expect(resolveParams("driver", specs, parseArgs(["--quick"]), {})).toEqual({ creates: 3, pauses: 200 });
    expect(resolveParams("driver", specs, parseArgs([]), env)).toEqual({ creates: 11, pauses: 12 });
    expect(resolveParams("driver", specs, parseArgs(["--creates=2"]), env)).toEqual({ creates: 2, pauses: 12 });
    expect(resolveParams("driver", specs, parseArgs(["--creates=2", "--driver.creates=1"]), env)).toEqual({ creates: 1, pauses: 12 });
  });

  it("names camelCase parameters in the environment in upper snake case", () => {
    expect(resolveParams("density", { idleS: { default: 30, doc: "" } }, parseArgs([]), { BENCH_DENSITY_IDLE_S: "4" })).toEqual({ idleS: 4 });
  });

  it("says which value is bad", () => {
    expect(() => resolveParams("driver", specs, parseArgs(["--driver.creates=lots"]), {})).toThrow(/--driver.creates must be a number >= 0, got "lots"/);
    expect(() => resolveParams("driver", specs, parseArgs([]), { BENCH_DRIVER_PAUSES: "-1" })).toThrow(/BENCH_DRIVER_PAUSES/);
  });
});

describe("unknownFlags and usage", () => {
  const suites = [{ name: "driver", description: "d", params: specs }];

  it("finds flags no selected suite has", () => {
    expect(unknownFlags(parseArgs(["--creates=1", "--driver.pauses=2", "--store.creates=3", "--cretes=4"]), suites)).toEqual(["store.creates", "cretes"]);
  });

  it("lists every parameter with its default and env name", () => {
    const text = usage(suites);
    expect(text).toContain("driver: d");
    expect(text).toContain("--driver.creates=N  creates (default 30, quick 3; env BENCH_DRIVER_CREATES)");
  });
});
