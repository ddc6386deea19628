/**
 * Runs one CLI command with the contract's error handling: exit code 0 on
 * success; on failure exit 1 with `{"error": {code, message}}` (--json) or
 * `error: <code>: <message>` on stderr. `--help` / `-h` on any command, and
 * `corral --help` / `corral help [command]`, print usage to stdout and exit 0;
 * `corral` alone prints the overview and exits 1.
 */
import { InvalidArgumentError } from "../errors.js";
import { HelpRequested } from "./args.js";
import { formatCommandHelp, formatOverview, type OverviewGroup } from "./help.js";
import { reportError } from "./output.js";

export type CommandRunner = (argv: string[]) => Promise<number>;

/** Commands shown together in the overview. */
export interface CommandGroup {
  title: string;
  commands: Record<string, CommandRunner>;
}

/** The message of an unknown command (`corral up` recognises it in a child's log). */
export function unknownCommandMessage(name: string): string {
  return `unknown command ${JSON.stringify(name)}; run \`corral help\``;
}

/**
 * A command's own usage, asked from the command itself: every command parses
 * its argv before anything else (test/integration/cli-help.test.ts asks them all), so
 * `--help` stops it with {@link HelpRequested} before it has any effect.
 * Null when a command answers `--help` some other way.
 */
export async function helpOf(run: CommandRunner): Promise<HelpRequested | null> {
  try {
    await run(["--help"]);
    return null;
  } catch (err) {
    return err instanceof HelpRequested ? err : null;
  }
}

/** The overview of every command, from each command's own flags. */
export async function overview(groups: CommandGroup[]): Promise<string> {
  const rendered: OverviewGroup[] = [];
  for (const group of groups) {
    const commands = [];
    for (const [name, run] of Object.entries(group.commands)) commands.push({ name, help: await helpOf(run) });
    rendered.push({ title: group.title, commands });
  }
  return formatOverview(rendered);
}

/** Dispatches `argv[0]` to its command; see the module comment for exit codes. */
export async function runCommand(groups: CommandGroup[], argv: string[]): Promise<number> {
  const commands: Record<string, CommandRunner> = Object.assign({}, ...groups.map((g) => g.commands));
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    const topic = name === "help" ? rest[0] : undefined;
    const run = topic ? commands[topic] : undefined;
    if (topic && !run) return reportError(new InvalidArgumentError(unknownCommandMessage(topic)), false);
    const help = run ? await helpOf(run) : null;
    process.stdout.write(help ? formatCommandHelp(topic!, help) : await overview(groups));
    return name ? 0 : 1;
  }
  const json = rest.includes("--json");
  const command = commands[name];
  if (!command) return reportError(new InvalidArgumentError(unknownCommandMessage(name)), json);
  try {
    return await command(rest);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(formatCommandHelp(name, err));
      return 0;
    }
    return reportError(err, json);
  }
}
