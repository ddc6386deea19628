import { describe, expect, it } from "vitest";
import { resolveCreate } from "../../src/api/resolve-create.js";
import { HelpRequested, keyValues, parse, positionals, secondsToMs } from "../../src/cli/args.js";
import { flagSynopsis, formatCommandHelp, formatOverview } from "../../src/cli/help.js";
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
    const refresh = { command: "refresh", summary: "", args: ["ID", "SECONDS"], optionalArgs: 1 };
    const get = { command: "get", summary: "", args: ["ID"] };
    expect(positionals(refresh, ["id"])).toEqual(["id"]);
    expect(() => positionals(refresh, [])).toThrow("usage: corral refresh ID [SECONDS]");
    expect(() => positionals(get, [])).toThrow("usage: corral get ID");
    expect(() => positionals(get, ["a", "b"])).toThrow(/usage/);
    expect(() => positionals({ command: "ls", summary: "" }, ["x"])).toThrow(/^usage: corral ls$/);
  });

  it("formats tables and remaining time", () => {
    expect(table(["A", "BB"], [["xx", "y"]])).toBe("A   BB\nxx  y");
    expect(formatRemaining(null)).toBe("-");
    expect(formatRemaining(1_000, 2_000)).toBe("expired");
    expect(formatRemaining(61_000, 0)).toBe("1m 1s");
    expect(formatRemaining(3_700_000, 0)).toBe("1h 1m");
  });
});

describe("--help", () => {
  const flags = {
    port: { type: "string", default: "8480", help: "HTTP port" },
    "node-id": { type: "string", value: "ID", required: true, help: "the node" },
    metadata: { type: "string", multiple: true, value: "k=v", help: "a pair" },
    json: { type: "boolean", default: false, help: "JSON out", common: true },
  } as const;
  const usage = { command: "thing", summary: "Does the thing.", args: ["ID", "SECONDS"], optionalArgs: 1 };

  it("is asked by --help or -h, even next to a flag that would not parse; an unknown flag alone is invalid_argument", () => {
    for (const argv of [["--help"], ["-h"], ["x", "--port", "1", "-h"], ["--bogus", "--help"]]) {
      const err = (() => {
        try {
          parse(argv, flags, usage);
        } catch (e) {
          return e;
        }
      })();
      expect(err, argv.join(" ")).toBeInstanceOf(HelpRequested);
      expect((err as HelpRequested).flags).toBe(flags);
    }
    expect(() => parse(["--bogus"], flags, usage)).toThrow(CorralError);
    expect(() => parse(["--", "--help"], flags, usage)).not.toThrow(); // after `--` it is a positional
    const parsed = parse(["--port", "1", "a"], flags, usage);
    expect(parsed.values).toEqual({ port: "1", json: false });
    expect(parsed.positionals).toEqual(["a"]);
  });

  it("prints usage from the flag declarations: synopsis, summary, one line per flag with its default", () => {
    expect(flagSynopsis("port", flags.port)).toBe("[--port PORT]");
    expect(flagSynopsis("node-id", flags["node-id"])).toBe("--node-id ID");
    expect(flagSynopsis("metadata", flags.metadata)).toBe("[--metadata k=v]...");
    expect(flagSynopsis("json", flags.json)).toBe("[--json]");
    expect(formatCommandHelp("thing", new HelpRequested(flags, usage))).toBe(
      [
        "usage: corral thing ID [SECONDS] [--port PORT] --node-id ID [--metadata k=v]... [--json]",
        "",
        "Does the thing.",
        "",
        "options:",
        "  --port PORT     HTTP port (default 8480)",
        "  --node-id ID    the node",
        "  --metadata k=v  a pair (repeatable)",
        "  --json          JSON out",
        "  -h, --help      print this help",
        "",
      ].join("\n"),
    );
  });

  it("lists every command in the overview, naming the flags every client command takes once", () => {
    const text = formatOverview([{ title: "sandboxes", commands: [{ name: "thing", help: new HelpRequested(flags, usage) }, { name: "bare", help: null }] }]);
    expect(text).toContain("sandboxes (each also takes --json):\n  thing ID [SECONDS] [--port PORT] --node-id ID [--metadata k=v]...\n  bare\n");
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
