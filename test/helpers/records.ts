/**
 * A factory of valid stored sandbox records for tests. Every record it returns
 * is checked with `StoredSandboxSchema`, so a test never exercises the code
 * under test with a record the store would refuse.
 */
import { newSandboxId } from "../../src/ids.js";
import { StoredSandboxSchema, type SandboxInternal, type StoredSandbox } from "../../src/schema/record.js";

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
