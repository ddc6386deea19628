/**
 * `create` on a node: admission, the `starting` record, the machine, and a
 * reply once the sandbox runs (or the driver's error once it failed).
 *
 * Idempotency (a key names one id): `createIfAbsent` lets exactly one
 * creator write the id. A live record found there is answered with
 * `created: false` (the API then connects to it); a killed tombstone is
 * replaced by a new incarnation under the same id, by CAS, so that of many
 * concurrent creates exactly one starts a container.
 *
 * The traffic token is returned in this reply only; the record keeps its
 * sha256. `env` goes to the driver in memory and is never stored or logged.
 */
import { throwIfDeadlinePassed } from "../../src/deadline-header.js";
import { CapacityExhaustedError, UnavailableError } from "../../src/errors.js";
import type { SandboxId } from "../../src/ids.js";
import { validateTimeoutMs } from "../../src/lifecycle/deadline.js";
import type { CreateSpec, NodeSuccess } from "../../src/node-protocol.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { TemplateRegistry } from "../../src/templates.js";
import { hashTrafficToken, newTrafficToken } from "../../src/traffic-token.js";
import type { CommandDeps } from "./sandbox-commands.js";
import type { SandboxHost } from "./sandbox-host.js";
import type { WarmClaims } from "./warm/claims.js";

/** What create needs beyond the command deps. */
export interface CreateDeps extends CommandDeps {
  templates: TemplateRegistry;
  /** Hands `env` to the driver actor of this sandbox's start. */
  putEnv: (id: SandboxId, env: Record<string, string>) => void;
  /** Drops an env the start never took. */
  dropEnv: (id: SandboxId) => void;
  /** The warm pool's claims (docs/warm-pool.md); null when the node keeps no pool. */
  warm: WarmClaims | null;
}

/** The `starting` record of a new sandbox (first incarnation). */
export function newStartingRecord(deps: Pick<CommandDeps, "nodeId">, sandboxId: SandboxId, spec: CreateSpec, tokenHash: string, now: number): StoredSandbox {
  return {
    sandboxId,
    template: spec.template,
    state: "starting",
    nodeId: deps.nodeId,
    revision: 0,
    createdAt: now,
    startedAt: null,
    endAt: null,
    lastActiveAt: null,
    timeoutMs: spec.timeoutMs,
    expiration: spec.expiration,
    lifecycle: spec.lifecycle,
    metadata: spec.metadata,
    resources: spec.resources,
    killReason: null,
    error: null,
    tenant: spec.tenant,
    internal: {
      handle: null,
      endpoint: null,
      secure: spec.secure,
      tokenHash,
      key: spec.key,
      incarnation: 1,
      killedAt: null,
      attempts: 0,
    },
  };
}

/**
 * Writes the `starting` record: a fresh key, or a new incarnation over a
 * killed tombstone. Returns `created: false` with the record that holds the
 * id when it is live (someone else's create won).
 */
async function claim(deps: CreateDeps, fresh: StoredSandbox): Promise<{ record: StoredSandbox; created: boolean }> {
  const first = await deps.store.createIfAbsent(fresh, "create");
  if (first.created || first.record.state !== "killed") return first;
  const next = await deps.store.mutate(fresh.sandboxId, (latest) =>
    latest.state === "killed"
      ? { record: { ...fresh, internal: { ...fresh.internal, incarnation: latest.internal.incarnation + 1 } }, event: "create" }
      : null,
  );
  // Ours only if it carries our token hash (tokens are unique); else another create replaced the tombstone first.
  const ours = next.state === "starting" && next.nodeId === deps.nodeId && next.internal.tokenHash === fresh.internal.tokenHash;
  return { record: next, created: ours };
}

/** The create once admission answered: writes the record, starts the machine, waits for it to run. */
async function admitted(
  deps: CreateDeps,
  host: SandboxHost,
  sandboxId: SandboxId,
  spec: CreateSpec,
  reservation: { ok: true; release: () => void } | { ok: false; short: string },
  now: number,
): Promise<NodeSuccess> {
  if (!reservation.ok) throw new CapacityExhaustedError(`node ${deps.nodeId}: ${reservation.short}`);
  const token = newTrafficToken();
  try {
    const fresh = newStartingRecord(deps, sandboxId, spec, hashTrafficToken(token), now);
    const { record, created } = await claim(deps, fresh);
    if (!created) return { ok: true, created: false, record };
    deps.putEnv(sandboxId, spec.env);
    // Same synchronous step: the reservation ends as the machine's `starting` takes the quota.
    reservation.release();
    deps.hosting.startNew(host, record);
  } finally {
    reservation.release();
  }
  try {
    const snapshot = await host.settled(deps.settleTimeoutMs);
    const record = deps.hosting.persisted(snapshot);
    if (record.state === "running") return { ok: true, created: true, record, trafficToken: token };
    throw new UnavailableError(record.error?.message ?? `sandbox ${sandboxId} did not start (${record.state})`);
  } finally {
    deps.dropEnv(sandboxId);
  }
}

/** Runs a create command; see the module comment. */
export async function runCreate(deps: CreateDeps, sandboxId: SandboxId, spec: CreateSpec): Promise<NodeSuccess> {
  deps.templates.get(spec.template); // unknown template: invalid_argument before anything is written
  validateTimeoutMs(spec.timeoutMs, deps.config);
  const host = deps.hosting.ensure(sandboxId);
  try {
    return await host.mailbox.post(async (): Promise<NodeSuccess> => {
      // Its turn may come after its caller has gone (queued behind another command of this id): then nothing is created.
      const now = Date.now();
      throwIfDeadlinePassed(`create ${sandboxId}`, now);
      if (host.actor) {
        const snapshot = await host.settled(deps.settleTimeoutMs);
        return { ok: true, created: false, record: deps.hosting.persisted(snapshot) };
      }
      // A ready warm member's reservation admits the create (its capacity is the sandbox's from here on);
      // any other create may evict ready members to fit.
      const member = deps.warm?.take(sandboxId, spec) ?? null;
      const reservation = member ?? deps.warm?.admit(deps.ledger, sandboxId, spec.resources) ?? deps.ledger.reserve(spec.resources);
      try {
        return await admitted(deps, host, sandboxId, spec, reservation, now);
      } finally {
        // A claim that outlived the create's wait stays the pool's until the machine has written (or failed) its start.
        deps.warm?.settle(sandboxId, () => host.settled(deps.settleTimeoutMs));
      }
    });
  } finally {
    deps.hosting.release(host);
  }
}
