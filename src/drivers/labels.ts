/**
 * Container labels and names (DESIGN.md, "Proxy": every container carries
 * `corral.sandbox-id` and `corral.node-id`, so operators and reconciliation
 * can find it; "Cluster identity": and `corral.cluster`, so a node touches
 * only its own cluster's containers). Built only here; docs/drivers.md lists
 * them.
 */
import type { ClusterId, SandboxId } from "../ids.js";

/** The sandbox's id. */
export const LABEL_SANDBOX_ID = "corral.sandbox-id";
/** The cluster the container belongs to. Containers made before cluster ids have none. */
export const LABEL_CLUSTER_ID = "corral.cluster";
/** The node that owns the container. */
export const LABEL_NODE_ID = "corral.node-id";
/** The incarnation of the id (a key reused after a kill). */
export const LABEL_INCARNATION = "corral.incarnation";
/**
 * Set on a warm-pool member (DESIGN.md "Warm pool"): the member's id. Labels
 * cannot change, so a claimed container keeps it; the sandbox's record maps
 * the member to the sandbox (its `internal.handle`).
 */
export const LABEL_POOL_MEMBER = "corral.pool-member";
/** The template's name. */
export const LABEL_TEMPLATE = "corral.template";
/** The template's ready port: a stop-mode resume (which gets only the handle) waits on it. */
export const LABEL_READY_PORT = "corral.ready-port";
/** The template's readiness bound, for the same reason. */
export const LABEL_READY_TIMEOUT_MS = "corral.ready-timeout-ms";

/**
 * Suffix of the name of a container paused in `stop` mode. Labels cannot
 * change after create, but a name can (`docker rename`, ~5 ms), so the name is
 * the durable marker that tells a stop-mode pause from an exit — in
 * `inspect`/`list` and in the `die` event, which carries the current name.
 */
export const STOPPED_SUFFIX = ".stopped";

/**
 * `corral-<clusterId>-<sandboxId>-<incarnation>`: unique per incarnation, so a
 * retried start finds its stale twin; the cluster is in it because names are
 * global to the engine and a key names the same sandbox id in every cluster.
 */
export function containerName(clusterId: ClusterId, sandboxId: SandboxId, incarnation: number): string {
  return `corral-${clusterId}-${sandboxId}-${incarnation}`;
}

/** The name a container carries while paused in `stop` mode. */
export function stoppedName(name: string): string {
  return isStoppedName(name) ? name : `${name}${STOPPED_SUFFIX}`;
}

/** The name a container carries while running (inverse of {@link stoppedName}). */
export function runningName(name: string): string {
  return isStoppedName(name) ? name.slice(0, -STOPPED_SUFFIX.length) : name;
}

/** True for a name marked as paused in `stop` mode (Docker's leading "/" is ignored). */
export function isStoppedName(name: string): boolean {
  return name.endsWith(STOPPED_SUFFIX);
}

/** Docker reports names with a leading "/" in inspect and list; events carry them without. */
export function bareName(name: string): string {
  return name.startsWith("/") ? name.slice(1) : name;
}
