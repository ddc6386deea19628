/**
 * The cluster filter of every driver (DESIGN.md, "Cluster identity"): which
 * containers a node may list, watch, adopt and remove.
 */
import type { ClusterId, NodeId } from "../ids.js";

/**
 * Which containers a listing or a watch covers. A node passes its own
 * `{nodeId, clusterId}`: that cluster's containers of the node, plus the
 * unlabelled ones made before cluster ids (`clusterId: null` on the instance;
 * the node adopts those only when its KV knows their sandbox id). A bare
 * node id covers that node id in every cluster: for cleanup tools and tests
 * whose node ids are unique, never for a node.
 */
export type DriverScope = NodeId | { nodeId: NodeId; clusterId: ClusterId };

/** The node id of a scope. */
export function scopeNodeId(scope: DriverScope): NodeId {
  return typeof scope === "string" ? scope : scope.nodeId;
}

/**
 * True when a container labelled `clusterId` (null: unlabelled) is in
 * `scope`. The one place the cluster filter is decided, for every driver.
 */
export function inScope(scope: DriverScope, clusterId: string | null | undefined): boolean {
  return typeof scope === "string" || !clusterId || clusterId === scope.clusterId;
}
