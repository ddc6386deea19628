#!/usr/bin/env node
/**
 * The `corral` executable: the composition root. It sits above every layer
 * (src <- machines <- actors), so it alone wires the client commands of
 * `src/cli` together with the server commands that host actors.
 *
 * Every command's promise resolves when the command is over: a client
 * command after its reply, a server command once it has stopped (on
 * SIGINT/SIGTERM). Then the process exits with the command's code.
 */
import { CLIENT_COMMANDS } from "../src/cli/client-commands.js";
import { runCredsCommand } from "../src/cli/creds-command.js";
import { runCommand, type CommandRunner } from "../src/cli/run.js";
import { runGatewayCommand } from "./gateway/command.js";
import { runNodeCommand } from "./node/command.js";
import { runProxyCommand } from "./proxy/command.js";
import { runUiCommand } from "./ui/command.js";
import { runUpCommand } from "./up/command.js";

const SERVER_COMMANDS: Record<string, CommandRunner> = {
  up: runUpCommand,
  node: runNodeCommand,
  proxy: runProxyCommand,
  ui: runUiCommand,
  gateway: runGatewayCommand,
  creds: runCredsCommand,
};

const code = await runCommand({ ...CLIENT_COMMANDS, ...SERVER_COMMANDS }, process.argv.slice(2));
process.exit(code);
