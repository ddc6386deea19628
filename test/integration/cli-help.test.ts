// Issue 13 item 6: `--help` and `-h` on every command print its usage to
// stdout and exit 0 (no NATS, no Docker needed: asking for help does nothing
// else); the usage names every flag the command's parser accepts, because
// both come from one declaration. Unknown flags stay `invalid_argument`.
import { describe, expect, it, vi } from "vitest";
import { COMMAND_GROUPS } from "../../actors/commands.js";
import { helpOf, runCommand } from "../../src/cli/run.js";
import { corral, type CliResult } from "../helpers/cli.js";

const COMMANDS = COMMAND_GROUPS.flatMap((g) => Object.entries(g.commands));
const NAMES = [
  ...["up", "node", "proxy", "ui", "creds", "gateway"],
  ...["create", "get", "ls", "kill", "pause", "resume", "connect", "set-timeout", "refresh", "watch", "exec", "keys"],
  ...["nodes", "drain"],
];

/**
 * `corral ...args` in this process: the executable is exactly
 * `runCommand(COMMAND_GROUPS, argv)` and an exit (actors/corral.ts), so every
 * command and form is asked here, and a sample of them through the built
 * executable (a process each; sixty of them took most of a minute).
 */
async function corralHere(args: string[]): Promise<CliResult> {
  let stdout = "";
  let stderr = "";
  const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => ((stderr += String(chunk)), true));
  try {
    const code = await runCommand(COMMAND_GROUPS, args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

describe("corral --help", () => {
  it("has every command of the CLI contract", () => {
    expect(COMMANDS.map(([name]) => name).sort()).toEqual([...NAMES].sort());
  });

  it("prints the overview for --help, -h and help (exit 0), and for no command at all (exit 1)", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const res = await corral(args);
      expect(res, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(res.stdout).toMatch(/^usage: corral <command> \[options\]/);
      for (const name of NAMES) expect(res.stdout, name).toMatch(new RegExp(`^  ${name}( |$)`, "m"));
    }
    const bare = await corral([]);
    expect(bare.code).toBe(1);
    expect(bare.stdout).toMatch(/^usage: corral <command>/);
  });

  it("prints each command's usage for <command> --help, <command> -h and help <command>, with every flag its parser takes", async () => {
    for (const [name, run] of COMMANDS) {
      const help = await helpOf(run);
      expect(help, `${name} declares its usage through parse`).not.toBeNull();
      const flags = Object.keys(help!.flags);
      expect(flags.length, name).toBeGreaterThan(0);
      for (const [flag, decl] of Object.entries(help!.flags)) expect(decl.help ?? "", `${name} --${flag} has a help line`).not.toBe("");
      const forms = [[name, "--help"], [name, "-h"], ["help", name]];
      for (const args of forms) {
        const res = await corralHere(args);
        expect(res, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
        expect(res.stdout, args.join(" ")).toMatch(new RegExp(`^usage: corral ${name}( |\\n)`));
        for (const flag of flags) expect(res.stdout, `${args.join(" ")}: --${flag}`).toMatch(new RegExp(`^  --${flag}( |$)`, "m"));
        expect(res.stdout).toMatch(/^ {2}-h, --help +print this help$/m);
      }
    }
  });

  it("answers --help, -h and help <command> the same through the executable", async () => {
    const forms = [["node", "--help"], ["create", "-h"], ["help", "set-timeout"]];
    const results = await Promise.all(forms.map((args) => corral(args)));
    for (const [i, args] of forms.entries()) {
      expect(results[i], args.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(results[i]!.stdout, args.join(" ")).toBe((await corralHere(args)).stdout);
    }
  });

  it("prints the usage of keys' and creds' subcommands (keys create --help, creds revoke -h ...)", async () => {
    const cases: [string[], RegExp][] = [
      [["keys", "create", "--help"], /^usage: corral keys create /],
      [["keys", "ls", "-h"], /^usage: corral keys ls /],
      [["keys", "revoke", "--help"], /^usage: corral keys revoke PREFIX /],
      [["creds", "issue", "--help"], /^usage: corral creds issue\|revoke /],
      [["creds", "revoke", "-h"], /^usage: corral creds issue\|revoke /],
      [["exec", "0123456789abcdefghij", "--help"], /^usage: corral exec ID -- CMD \[ARG\.\.\.\] /],
    ];
    const results = await Promise.all(cases.map(([args]) => corral(args)));
    for (const [i, [args, usage]] of cases.entries()) {
      expect(results[i], args.join(" ")).toMatchObject({ code: 0, stderr: "" });
      expect(results[i]!.stdout, args.join(" ")).toMatch(usage);
    }
    const keysCreate = results[0]!.stdout;
    expect(keysCreate).toMatch(/^ {2}--tenant T +\S/m);
  });

  it("lists the proxy's limit flags and up's proxy, host, auth and gateway flags, each with its help line", async () => {
    const [proxy, up] = await Promise.all([corral(["proxy", "--help"]), corral(["up", "--help"])]);
    for (const flag of ["header-timeout-ms MS", "body-timeout-ms MS", "upstream-timeout-ms MS", "idle-timeout-ms MS", "max-connections N", "creds FILE", "tls-ca FILE", "workers N\\|auto"]) {
      expect(proxy.stdout, flag).toMatch(new RegExp(`^  --${flag} +\\S`, "m"));
      if (!flag.startsWith("workers")) expect(up.stdout, flag).toMatch(new RegExp(`^  --${flag} +\\S`, "m"));
    }
    for (const flag of ["proxy-host ADDR", "host ADDR", "no-auth", "gateway-port PORT"]) expect(up.stdout, flag).toMatch(new RegExp(`^  --${flag} +\\S`, "m"));
    expect(proxy.stdout).toMatch(/--max-connections N +.*\(default \$CORRAL_PROXY_MAX_CONNECTIONS, then 10000\)/);
  });

  it("still answers an unknown flag or command with invalid_argument and exit 1", async () => {
    for (const args of [["up", "--bogus"], ["node", "--frob"], ["create", "--bogus"], ["gateway", "--bogus"], ["drain", "--frob"], ["keys", "create", "--bogus"], ["keys"], ["frobnicate"]]) {
      const res = await corral([...args, "--json"]);
      expect(res.code, args.join(" ")).toBe(1);
      expect(JSON.parse(res.stdout).error.code, args.join(" ")).toBe("invalid_argument");
    }
    const unknownTopic = await corral(["help", "frobnicate"]);
    expect(unknownTopic).toMatchObject({ code: 1, stdout: "" });
    expect(unknownTopic.stderr).toMatch(/^error: invalid_argument: unknown command "frobnicate"/);
  });
});
