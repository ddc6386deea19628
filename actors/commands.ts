/**
 * Every `corral` command, grouped as the overview (`corral --help`) shows
 * them. Separate from the executable so tests can ask each command for its
 * usage without running `corral.ts`'s top level.
 *
 * A server command's module is imported when that command runs (or is asked
 * for its usage), not when the executable starts: a client command such as
 * `corral ls` loads only the client, never xstate, dockerode, the proxy or
 * the UI server, so every CLI call starts in a fraction of the time.
 */
import { CLIENT_COMMANDS } from "../src/cli/client-commands.js";
import { CLUSTER_COMMANDS } from "../src/cli/cluster-commands.js";
import type { CommandGroup, CommandRunner } from "../src/cli/run.js";

/** The commands that host actors (they run until SIGINT/SIGTERM). */
export const SERVER_COMMANDS: Record<string, CommandRunner> = {
  up: async (argv) => (await import("./up/command.js")).runUpCommand(argv),
  node: async (argv) => (await import("./node/command.js")).runNodeCommand(argv),
  proxy: async (argv) => (await import("./proxy/command.js")).runProxyCommand(argv),
  ui: async (argv) => (await import("./ui/command.js")).runUiCommand(argv),
  creds: async (argv) => (await import("../src/cli/creds-command.js")).runCredsCommand(argv),
  gateway: async (argv) => (await import("./gateway/command.js")).runGatewayCommand(argv),
};

/** Servers first, then the API clients, then the cluster's. */
export const COMMAND_GROUPS: CommandGroup[] = [
  { title: "servers", commands: SERVER_COMMANDS },
  { title: "sandboxes", commands: CLIENT_COMMANDS },
  { title: "cluster", commands: CLUSTER_COMMANDS },
];
