#!/usr/bin/env node
/**
 * The `corral` executable: the composition root. It sits above every layer
 * (src <- machines <- actors), so it alone wires the client commands of
 * `src/cli` together with the server commands that host actors
 * (./commands.ts).
 *
 * Every command's promise resolves when the command is over: a client
 * command after its reply, a server command once it has stopped (on
 * SIGINT/SIGTERM). Then the process exits with the command's code.
 */
import { runCommand } from "../src/cli/run.js";
import { COMMAND_GROUPS } from "./commands.js";

const code = await runCommand(COMMAND_GROUPS, process.argv.slice(2));
process.exit(code);
