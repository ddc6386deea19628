/**
 * The cluster commands of `corral` (DESIGN.md "Cluster", Drain):
 * `corral nodes [--json]` and `corral drain NODE_ID [--undo] [--json]`.
 * `--json` prints exactly the API's reply.
 */
import type { NodeEntry } from "../client/types.js";
import { InvalidArgumentError } from "../errors.js";
import { isNodeId } from "../ids.js";
import { CLIENT_OPTIONS, parse, positionals, type Usage } from "./args.js";
import { withClient } from "./client-commands.js";
import { printJson } from "./output.js";
import { readClusterId } from "../store/cluster-id.js";

type Run = (argv: string[]) => Promise<number>;

/** Counts worth a column: the live states and `warm`, zeros omitted. */
function countsText(counts: Record<string, number>): string {
  const shown = Object.entries(counts).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`);
  return shown.length === 0 ? "-" : shown.join(", ");
}

/** One line per node: id, state, allocation/capacity, sandboxes by state. */
export function nodesTable(items: readonly NodeEntry[]): string {
  if (items.length === 0) return "no nodes";
  const rows = items.map((n) => [
    n.nodeId,
    n.state,
    `${n.allocation.cpu}/${n.capacity.cpu}`,
    `${n.allocation.memoryMB}/${n.capacity.memoryMB}`,
    `${n.allocation.sandboxes}/${n.capacity.sandboxes}`,
    countsText(n.counts),
  ]);
  const header = ["NODE", "STATE", "CPU", "MEMORY MiB", "SANDBOXES", "COUNTS"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

const NODES_USAGE: Usage = { command: "nodes", summary: "Lists the cluster's nodes: state, allocation/capacity, sandboxes by state." };

const nodes: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, CLIENT_OPTIONS, NODES_USAGE);
  positionals(NODES_USAGE, pos);
  const [reply, clusterId] = await withClient(values, async (c) => [await c.nodes(), values.json ? null : await readClusterId(c.nats).catch(() => null)] as const);
  if (values.json) printJson(reply);
  // The cluster's id is read from the KV: a credential without KV access (a `client`) sees it as unknown.
  else process.stdout.write(`cluster  ${clusterId ?? "(unknown)"}\n${nodesTable(reply.items)}\n`);
  return 0;
};

const DRAIN_USAGE: Usage = { command: "drain", summary: "Drains a node (no new sandboxes are placed on it), or with --undo makes it schedulable again.", args: ["NODE_ID"] };

const drain: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, { undo: { type: "boolean", default: false, help: "make the node schedulable again" }, ...CLIENT_OPTIONS }, DRAIN_USAGE);
  const [nodeId] = positionals(DRAIN_USAGE, pos);
  if (!isNodeId(nodeId!)) throw new InvalidArgumentError(`NODE_ID: expected 1-64 of [A-Za-z0-9_-], got ${JSON.stringify(nodeId)}`);
  const entry = await withClient(values, (c) => c.drain(nodeId!, !values.undo));
  if (values.json) printJson(entry);
  else process.stdout.write(`${nodesTable([entry])}\n`);
  return 0;
};

/** `nodes` and `drain`, keyed by command name. */
export const CLUSTER_COMMANDS: Record<string, Run> = { nodes, drain };
