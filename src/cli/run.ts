/**
 * Runs one CLI command with the contract's error handling: exit code 0 on
 * success; on failure exit 1 with `{"error": {code, message}}` (--json) or
 * `error: <code>: <message>` on stderr.
 */
import { InvalidArgumentError } from "../errors.js";
import { reportError } from "./output.js";

export type CommandRunner = (argv: string[]) => Promise<number>;

export const USAGE = `usage: corral <command> [options]

servers:
  up     [--data-dir DIR] [--nats-url URL] [--proxy-port 8480] [--ui-port 8481] [--driver docker|process]
         [--nats-port 4222] [--node-id node-1] [--domain corral.localhost]
  node   --nats-url URL --node-id ID [--driver docker|process] [--cpu N] [--memory-mb N]
         [--max-sandboxes N] [--pause-mode freeze|stop] [--data-dir DIR] [--replicas 1..5]
  proxy  --nats-url URL [--port 8480] [--domain corral.localhost] [--host 0.0.0.0] [--workers N|auto] [--no-access-log]
  ui     --nats-url URL [--port 8481]

--nats-url takes one URL or a comma-separated list (failover between them) everywhere.

sandboxes (all take --nats-url URL, default $CORRAL_NATS_URL or nats://127.0.0.1:4222, and --json):
  create [--template T] [--timeout SECONDS] [--on-timeout kill|pause] [--auto-resume] [--idle] [--manual]
         [--metadata k=v]... [--env K=V]... [--key K] [--cpu N] [--memory-mb N] [--insecure]
  get|kill|pause|resume|connect ID      (resume and connect take --timeout SECONDS)
  ls [--state S]... [--metadata k=v]... [--limit N] [--cursor C]
  set-timeout ID SECONDS
  refresh ID [SECONDS]
  watch [ID] [--replay | --since SECONDS]

cluster (same --nats-url and --json):
  nodes                                 every node: state (ready|draining|stopping|lost), capacity, allocation, counts
  drain NODE_ID [--undo]                the node admits no new sandbox (its sandboxes live on); --undo reverses it
`;

/** The message of an unknown command (`corral up` recognises it in a child's log). */
export function unknownCommandMessage(name: string): string {
  return `unknown command ${JSON.stringify(name)}; run \`corral help\``;
}

/** Dispatches `argv[0]` to its command; see the module comment for exit codes. */
export async function runCommand(commands: Record<string, CommandRunner>, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "help" || name === "--help" || name === "-h") {
    process.stdout.write(USAGE);
    return name ? 0 : 1;
  }
  const json = rest.includes("--json");
  const command = commands[name];
  if (!command) return reportError(new InvalidArgumentError(unknownCommandMessage(name)), json);
  try {
    return await command(rest);
  } catch (err) {
    return reportError(err, json);
  }
}
