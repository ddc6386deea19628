/**
 * Every `corral` command, grouped as the overview (`corral --help`) shows
 * them. Separate from the executable so tests can ask each command for its
 * usage without running `corral.ts`'s top level.
 */
import { CLIENT_COMMANDS } from "../src/cli/client-commands.js";
import { CLUSTER_COMMANDS } from "../src/cli/cluster-commands.js";
import { runCredsCommand } from "../src/cli/creds-command.js";
import type { CommandGroup, CommandRunner } from "../src/cli/run.js";
import { runGatewayCommand } from "./gateway/command.js";
import { runNodeCommand } from "./node/command.js";
import { runProxyCommand } from "./proxy/command.js";
import { runUiCommand } from "./ui/command.js";
import { runUpCommand } from "./up/command.js";

/** The commands that host actors (they run until SIGINT/SIGTERM). */
export const SERVER_COMMANDS: Record<string, CommandRunner> = {
  up: runUpCommand,
  node: runNodeCommand,
  proxy: runProxyCommand,
  ui: runUiCommand,
  creds: runCredsCommand,
  gateway: runGatewayCommand,
};

/** Servers first, then the API clients, then the cluster's. */
export const COMMAND_GROUPS: CommandGroup[] = [
  { title: "servers", commands: SERVER_COMMANDS },
  { title: "sandboxes", commands: CLIENT_COMMANDS },
  { title: "cluster", commands: CLUSTER_COMMANDS },
];
