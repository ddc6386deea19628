/**
 * Every NATS subject, KV bucket and stream name Corral uses. Subjects and keys
 * are built only here, so a rename is one edit and nothing builds them by hand.
 */
import type { NodeId, SandboxId } from "./ids.js";

export const SERVICE_NAME = "corral";
export const SERVICE_VERSION = "1.0.0";
/** Queue group of the API endpoints: every node process serves them. */
export const API_QUEUE = "corral-api";

export const SANDBOX_BUCKET = "corral_sandboxes";
export const NODE_BUCKET = "corral_nodes";
export const EVENTS_STREAM = "CORRAL_EVENTS";
/** The cluster's identity (one key, written once). */
export const CLUSTER_BUCKET = "corral_cluster";
/** API keys of the E2B gateway (hashed) and the cluster's envd secret. */
export const API_KEYS_BUCKET = "corral_api_keys";

/** The API operations, each on `corral.v1.sandbox.<op>`. */
export const API_OPS = ["create", "get", "list", "kill", "pause", "resume", "connect", "set_timeout", "refresh"] as const;
export type ApiOp = (typeof API_OPS)[number];

/** The cluster operations, each on `corral.v1.cluster.<op>` (same service, admin only). */
export const CLUSTER_OPS = ["drain", "nodes"] as const;
export type ClusterOp = (typeof CLUSTER_OPS)[number];
/** Subject prefix (micro-service group) of the cluster operations. */
export const CLUSTER_GROUP = "corral.v1.cluster";

/** Commands the API forwards to the owning node actor on `corral.v1.node.<nodeId>.<op>`. */
export const NODE_OPS = ["create", "get", "kill", "pause", "resume", "connect", "set_timeout", "refresh", "reconcile", "drain"] as const;
export type NodeOp = (typeof NODE_OPS)[number];

export const subjects = {
  /** `corral.v1.sandbox.<op>`: public API endpoint. */
  api: (op: ApiOp) => `corral.v1.sandbox.${op}`,
  /** `corral.v1.cluster.<op>`: cluster operation (drain, nodes). */
  cluster: (op: ClusterOp) => `${CLUSTER_GROUP}.${op}`,
  /**
   * `<queue subject>.<instanceId>`: the same op served by one API service
   * instance only (its `$SRV` id), outside the queue group. The client sends
   * a retry here, to an instance that has just answered a ping, so a hung
   * queue member cannot take the retry too (docs/operations.md, "Retries").
   */
  direct: (queueSubject: string, instanceId: string) => `${queueSubject}.${instanceId}`,
  /** `corral.v1.events.sandbox.<id>`: one message per record write. */
  sandboxEvents: (id: SandboxId) => `corral.v1.events.sandbox.${id}`,
  /** Every sandbox's events. */
  allSandboxEvents: "corral.v1.events.sandbox.*",
  /** What the CORRAL_EVENTS stream captures. */
  eventsStreamFilter: "corral.v1.events.>",
  /** `corral.v1.node.<nodeId>.<op>`: command to one node actor. */
  node: (nodeId: NodeId, op: NodeOp) => `corral.v1.node.${nodeId}.${op}`,
  /** Every command to one node (what the node subscribes to). */
  nodeAll: (nodeId: NodeId) => `corral.v1.node.${nodeId}.*`,
  /**
   * `corral.v1.tenant.<tenant>.sandbox.<op>`: the API acting as `tenant`
   * (only its sandboxes). Who may publish here is decided by NATS
   * permissions/accounts, so the tenant comes from the credential.
   */
  tenantApi: (tenant: string, op: ApiOp) => `corral.v1.tenant.${tenant}.sandbox.${op}`,
  /** What the service subscribes to for `op` on behalf of every tenant. */
  tenantApiWildcard: (op: ApiOp) => `corral.v1.tenant.*.sandbox.${op}`,
  /** Every tenant API subject (what a gateway may request). */
  allTenantApi: "corral.v1.tenant.*.sandbox.*",
  /** Every tenant API subject addressed to one service instance (see `direct`). */
  allTenantApiDirect: "corral.v1.tenant.*.sandbox.*.*",
  /** Every plain API subject addressed to one service instance (see `direct`). */
  allApiDirect: "corral.v1.sandbox.*.*",
  /** `$SRV.PING.corral`: every live instance of the API service answers with its id. */
  servicePing: `$SRV.PING.${SERVICE_NAME}`,
  /**
   * `corral.v1.tenant.<tenant>.ping`: the ping a tenant account imports as
   * its `$SRV.PING.corral`. Every live API instance answers it with its
   * instance id only (no node id, no endpoints), which is all a tenant's
   * retry needs (src/api/tenant-ping.ts).
   */
  tenantPing: (tenant: string) => `corral.v1.tenant.${tenant}.ping`,
  /** Every tenant's ping (what each API instance subscribes to, and what CORRAL exports). */
  allTenantPing: "corral.v1.tenant.*.ping",
  /** `corral.v1.tenant.<tenant>.events.sandbox.<id>`: a tenant sandbox's events, again, under its tenant. */
  tenantSandboxEvents: (tenant: string, id: SandboxId) => `corral.v1.tenant.${tenant}.events.sandbox.${id}`,
  /** Every event of one tenant's sandboxes. */
  tenantAllSandboxEvents: (tenant: string) => `corral.v1.tenant.${tenant}.events.sandbox.*`,
  /** `corral.v1.activity.<nodeId>`: proxy activity batches for one node. */
  activity: (nodeId: NodeId) => `corral.v1.activity.${nodeId}`,
} as const;

/** KV key of a sandbox record. */
export const sandboxKey = (id: SandboxId): string => id;
/** KV key of the cluster's identity in `corral_cluster`. */
export const CLUSTER_KEY = "identity";
/** KV key of a node record. */
export const nodeKey = (id: NodeId): string => id;

/** The tenant a `corral.v1.tenant.<tenant>.…` subject names, or null for any other subject. */
export function tenantOfSubject(subject: string): string | null {
  const prefix = "corral.v1.tenant.";
  if (!subject.startsWith(prefix)) return null;
  const end = subject.indexOf(".", prefix.length);
  return end > prefix.length ? subject.slice(prefix.length, end) : null;
}
