/**
 * Factories of valid records for tests: stored sandboxes and node leases.
 * Every record they return is checked with its schema (`StoredSandboxSchema`,
 * `NodeRecordSchema`), so a test never exercises the code under test with a
 * record the store would refuse.
 */
import { newSandboxId } from "../../src/ids.js";
import { StoredSandboxSchema, type SandboxInternal, type StoredSandbox } from "../../src/schema/record.js";
import { NodeRecordSchema, type NodeRecord } from "../../src/store/node-record.js";

/** Overrides of `makeStoredSandbox`: any field, and `internal` may be partial. */
export type StoredSandboxOverrides = Partial<Omit<StoredSandbox, "internal">> & { internal?: Partial<SandboxInternal> };

/**
 * A `running` sandbox on node `node-1` with a fresh random id, created 1 s ago
 * with a 5-minute deadline. `overrides` replace fields (shallowly, except
 * `internal`, which is merged). Throws (a test bug) if the result is invalid.
 */
export function makeStoredSandbox(overrides: StoredSandboxOverrides = {}): StoredSandbox {
  const now = Date.now();
  const createdAt = overrides.createdAt ?? now - 1_000;
  const { internal, ...rest } = overrides;
  const candidate = {
    sandboxId: newSandboxId(),
    template: "base",
    state: "running",
    nodeId: "node-1",
    revision: 0,
    createdAt,
    startedAt: createdAt + 100,
    endAt: createdAt + 100 + 300_000,
    lastActiveAt: createdAt + 100,
    timeoutMs: 300_000,
    expiration: "ttl",
    lifecycle: { onTimeout: "kill", autoResume: false, idle: false },
    metadata: {},
    resources: { cpu: 1, memoryMB: 512 },
    killReason: null,
    error: null,
    ...rest,
    internal: {
      handle: null,
      endpoint: null,
      secure: true,
      tokenHash: null,
      key: null,
      incarnation: 1,
      killedAt: null,
      attempts: 0,
      ...internal,
    },
  };
  const parsed = StoredSandboxSchema.safeParse(candidate);
  if (!parsed.success) throw new Error(`makeStoredSandbox built an invalid record: ${parsed.error.message}`);
  return parsed.data;
}

/** Overrides of `makeNodeRecord`: any field, `nodeId` as a plain string. */
export type NodeRecordOverrides = Partial<Omit<NodeRecord, "nodeId">> & { nodeId?: string };

/**
 * The lease of an idle `process` node `node-1` (8 cpu, 4096 MiB, 100
 * sandboxes, nothing allocated), started and last heard of at 0. `overrides`
 * replace fields (shallowly). Throws (a test bug) if the result is invalid.
 */
export function makeNodeRecord(overrides: NodeRecordOverrides = {}): NodeRecord {
  const candidate = {
    nodeId: "node-1",
    version: "test",
    address: null,
    driver: "process",
    pauseMode: "freeze",
    startedAt: 0,
    heartbeatAt: 0,
    capacity: { cpu: 8, memoryMB: 4096, sandboxes: 100 },
    allocation: { cpu: 0, memoryMB: 0, sandboxes: 0 },
    counts: {},
    ...overrides,
  };
  const parsed = NodeRecordSchema.safeParse(candidate);
  if (!parsed.success) throw new Error(`makeNodeRecord built an invalid record: ${parsed.error.message}`);
  return parsed.data;
}
