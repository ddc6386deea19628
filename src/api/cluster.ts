/**
 * The cluster operations (DESIGN.md "Cluster", Drain), on
 * `corral.v1.cluster.<op>` in the same service:
 *
 * - `nodes` `{}` -> `{items: [{nodeId, state, capacity, allocation, counts}]}`,
 *   every node record in `corral_nodes` (lost ones until the bucket's max-age
 *   drops them), `counts` by sandbox state plus `warm` (ready warm-pool members
 *   of every template; 0 without a pool).
 * - `drain` `{nodeId, drain}` -> that node's entry: the node itself sets the
 *   flag in its lease (its heartbeats would overwrite anyone else's write),
 *   so an unreachable node is `unavailable`.
 *
 * Both are admin operations; authorization belongs to the security layer.
 */
import { z } from "zod";
import { NotFoundError, UnavailableError } from "../errors.js";
import { NodeUnreachableError, requestDrain } from "../node-protocol.js";
import { NodeIdSchema, SandboxStateSchema } from "../schema/record.js";
import { parseWith } from "../schema/requests.js";
import { nodeState, type NodeRecord, type NodeState } from "../store/node-record.js";
import type { ClusterOp } from "../subjects.js";
import type { ApiDeps } from "./deps.js";

/** One node as `nodes` lists it. */
export interface NodeEntry {
  nodeId: string;
  state: NodeState;
  capacity: NodeRecord["capacity"];
  allocation: NodeRecord["allocation"];
  counts: Record<string, number>;
}

const DrainRequestSchema = z.strictObject({ nodeId: NodeIdSchema, drain: z.boolean() });
const NodesRequestSchema = z.strictObject({});


/** A node record -> its `nodes` entry; every sandbox state is counted (0 when none), plus `warm`. */
export function nodeEntry(record: NodeRecord, state: NodeState): NodeEntry {
  const counts: Record<string, number> = {};
  for (const s of SandboxStateSchema.options) counts[s] = record.counts[s] ?? 0;
  counts.warm = Object.values(record.warm ?? {}).reduce((a, b) => a + b, 0);
  return { nodeId: record.nodeId, state, capacity: record.capacity, allocation: record.allocation, counts };
}

/** Validates `body` for the cluster `op` and performs it; throws CorralErrors. */
export async function handleCluster(deps: ApiDeps, op: ClusterOp, body: unknown): Promise<unknown> {
  if (op === "nodes") {
    parseWith(NodesRequestSchema, body ?? {}, "nodes request");
    return { items: (await deps.nodes.listAll()).map((n) => nodeEntry(n.record, n.state)) };
  }
  const { nodeId, drain } = parseWith(DrainRequestSchema, body, "drain request");
  const known = (await deps.nodes.listAll()).find((n) => n.record.nodeId === nodeId);
  if (!known) throw new NotFoundError(`node ${nodeId} not found`);
  let record: NodeRecord;
  try {
    record = await requestDrain(deps.nc, nodeId, drain, deps.config.nodeRequestTimeoutMs);
  } catch (err) {
    if (!(err instanceof NodeUnreachableError)) throw err;
    throw new UnavailableError(`node ${nodeId} is unreachable (${known.state}): ${err.message}; retry when it is up`, { cause: err });
  }
  return nodeEntry(record, nodeState(record, Date.now(), deps.config.nodeLeaseMs, deps.config.nodeStopGraceMs));
}
