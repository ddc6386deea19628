/**
 * The store's public surface: sandbox records with CAS writes and events
 * (`SandboxStore`), the node registry with leases (`NodeRegistry`), and the
 * one mapping of KV errors. See docs/storage.md.
 */
export { SandboxStore, DEFAULT_MAX_ATTEMPTS, type Decide, type MutateOptions, type WriteDecision } from "./sandbox-store.js";
export { NodeRegistry, NodeRecordSchema, type NodeRecord } from "./node-registry.js";
export { compileListQuery, decodeCursor, encodeCursor, selectPage, type ListPage, type ListQuery } from "./list-page.js";
export { isWrongLastSequence, mapStoreError } from "./kv-errors.js";
export { EventRepublisher, DEFAULT_REPUBLISH_GRACE_MS, type EventRepublisherOptions } from "./event-republisher.js";
export { readClusterId, ensureClusterId, ClusterIdentitySchema, type ClusterIdentity } from "./cluster-id.js";
