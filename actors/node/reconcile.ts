/**
 * Reconciliation: make the KV records of this node and the containers of
 * this node agree. Runs at start-up, before the node takes commands, and on
 * the `reconcile` command. Nothing is left half-done, nothing leaks:
 *
 * - Only containers of this cluster are looked at (the driver's listing is
 *   scoped to it). One without a cluster label (made before cluster ids) is
 *   this cluster's only when the KV has a record with its sandbox id; else
 *   it belongs to another cluster on the same engine and is left alone.
 * - A container labelled with this node and no live record of this node
 *   with its handle is removed (`orphaned`): a create that crashed before
 *   writing the handle, a sandbox marked `node_lost` while this node was
 *   away, a tombstone's leftover.
 * - A record whose container is gone (or whose main process exited) becomes
 *   `killed` / `container_exited`; an exited container is removed.
 * - Records left in a transient state by a crash are settled by what the
 *   container says (see `settle`): an operation that can be completed is
 *   completed ("drive forward"), one that cannot is undone.
 *   `starting` is the exception: it is always killed (`start_failed`),
 *   because the create's reply, carrying the one-time traffic token, was
 *   never delivered: an adopted sandbox would be unreachable for a `secure`
 *   client and unknown to a keyless one, while a retried create (same key)
 *   gets a fresh incarnation and token.
 * - Each stable record is then restored as a machine actor (no write) and
 *   its deadline timer armed from `endAt`: a deadline that passed while the
 *   node was down fires at once.
 *
 * Every write is a CAS on the revision that was read: a record that changed
 * meanwhile is left to the next reconciliation, never overwritten blindly.
 */
import type { DriverInstance, PauseMode, SandboxDriver } from "../../src/drivers/types.js";
import type { ClusterId, NodeId, SandboxId } from "../../src/ids.js";
import type { ReconcileSummary } from "../../src/node-protocol.js";
import type { Logger } from "../../src/log.js";
import { startDeadline, type DeadlineLimits } from "../../src/lifecycle/deadline.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { toKilled, toPaused, type SandboxMachineEvent, type WriteEventName } from "../../machines/sandbox/index.js";
import type { Hosting } from "./hosting.js";

/** What reconciliation needs from the node. */
export interface ReconcileDeps {
  nodeId: NodeId;
  clusterId: ClusterId;
  store: Pick<SandboxStore, "scan" | "mutate">;
  driver: SandboxDriver;
  hosting: Hosting;
  pauseMode: PauseMode;
  limits: DeadlineLimits;
  log: Logger;
  /** Posts an event through a restored sandbox's mailbox (completes an interrupted operation). */
  drive: (id: SandboxId, event: SandboxMachineEvent) => void;
  /** Re-checks a hosted sandbox's container through its mailbox (kills it if gone). */
  checkHosted: (id: SandboxId) => void;
}

export type { ReconcileSummary } from "../../src/node-protocol.js";

/** Instance states in which a sandbox's container/process is still there to be used. */
export const ALIVE_INSTANCE_STATES: ReadonlySet<string> = new Set(["running", "paused", "stopped"]);

/** Writes `next` only if the record is still at `from.revision`; null when it changed meanwhile. */
async function writeIf(deps: ReconcileDeps, from: StoredSandbox, next: StoredSandbox, event: WriteEventName | "reconcile"): Promise<StoredSandbox | null> {
  let wrote = false;
  const stored = await deps.store.mutate(from.sandboxId, (latest) => {
    if (latest.revision !== from.revision) return null;
    wrote = true;
    return { record: next, event };
  });
  return wrote ? stored : null;
}

function killed(record: StoredSandbox, reason: StoredSandbox["killReason"], now: number, error: StoredSandbox["error"] = null): StoredSandbox {
  return { ...toKilled(record, now), killReason: record.killReason ?? reason, error };
}

/** A stopped container gave its address back; a frozen one keeps it (as the driver tells the machine on a pause). */
function pausedKeepsEndpoint(instance: DriverInstance): boolean {
  return instance.state !== "stopped";
}

async function removeAll(deps: ReconcileDeps, instances: readonly DriverInstance[]): Promise<void> {
  for (const i of instances) await deps.driver.remove(i.handle);
}

/**
 * Settles one unhosted record of this node against its containers, writes
 * the stable state, restores it, and returns what happened.
 */
async function settle(deps: ReconcileDeps, record: StoredSandbox, instances: DriverInstance[], summary: ReconcileSummary): Promise<void> {
  const now = Date.now();
  const mine = instances.filter((i) => (record.internal.handle ? i.handle === record.internal.handle : i.incarnation === record.internal.incarnation));
  const instance = mine[0];
  const alive = instance !== undefined && ALIVE_INSTANCE_STATES.has(instance.state);
  let stable: StoredSandbox | null = record;
  let drive: SandboxMachineEvent | null = null;

  if (record.state === "killed") {
    deps.hosting.restore(record); // tombstone timer; its containers go with the orphans
    return;
  }
  if (record.state === "starting") {
    await removeAll(deps, mine);
    const error = { op: "start", message: "node restarted while the sandbox was starting", at: now };
    stable = await writeIf(deps, record, killed(record, "start_failed", now, error), "start_failed");
  } else if (record.state === "killing") {
    await removeAll(deps, mine);
    stable = await writeIf(deps, record, killed(record, "request", now), "killed");
  } else if (!alive) {
    await removeAll(deps, mine);
    stable = await writeIf(deps, record, killed(record, "container_exited", now), "container_exited");
  } else if (record.state === "pausing") {
    if (instance.state === "running") {
      // The pause never happened: back to running, then complete it.
      stable = await writeIf(deps, record, { ...record, state: "running" }, "reconcile");
      drive = { type: "PAUSE" };
    } else {
      stable = await writeIf(deps, record, toPaused(record, { endpointKept: pausedKeepsEndpoint(instance) }), "paused");
    }
  } else if (record.state === "resuming") {
    if (instance.state === "running" && instance.endpoint) {
      const resumed = startDeadline({ ...record, state: "running" as const }, now, deps.limits);
      stable = await writeIf(deps, record, { ...resumed, error: null, internal: { ...record.internal, endpoint: instance.endpoint, attempts: 0 } }, "resumed");
    } else {
      // Not resumed yet: back to paused, then complete it.
      const endpoint = pausedKeepsEndpoint(instance) ? record.internal.endpoint : null;
      stable = await writeIf(deps, record, { ...record, state: "paused", endAt: null, internal: { ...record.internal, endpoint } }, "reconcile");
      drive = { type: "RESUME" };
    }
  } else if (record.state === "running" && instance.state !== "running") {
    // Paused behind Corral's back: the record is the truth.
    await deps.driver.resume(instance.handle, instance.state === "stopped" ? "stop" : "freeze");
  } else if (record.state === "paused" && instance.state === "running") {
    await deps.driver.pause(instance.handle, deps.pauseMode);
  }

  if (stable === null) {
    deps.log.info({ sandboxId: record.sandboxId }, "reconcile: record changed meanwhile; left for the next pass");
    return;
  }
  if (stable.state === "killed") summary.killed++;
  deps.hosting.restore(stable);
  summary.restored++;
  if (drive) {
    summary.driven++;
    deps.drive(stable.sandboxId, drive);
  }
}

/** Reconciles this node's records with its containers; see the module comment. */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { restored: 0, killed: 0, driven: 0, orphansRemoved: 0, checked: 0 };
  const listed = await deps.driver.list({ nodeId: deps.nodeId, clusterId: deps.clusterId });
  const bySandbox = new Map<SandboxId, DriverInstance[]>();
  for (const i of listed) bySandbox.set(i.sandboxId, [...(bySandbox.get(i.sandboxId) ?? []), i]);
  const known = new Set<SandboxId>();

  for await (const record of deps.store.scan()) {
    known.add(record.sandboxId);
    if (record.nodeId !== deps.nodeId) continue;
    const host = deps.hosting.get(record.sandboxId);
    if (host) {
      // Hosted (or being created): its mailbox owns it.
      if (host.actor) {
        deps.checkHosted(record.sandboxId);
        summary.checked++;
      }
      continue;
    }
    try {
      await settle(deps, record, bySandbox.get(record.sandboxId) ?? [], summary);
    } catch (err) {
      deps.log.error({ sandboxId: record.sandboxId, err }, "reconcile: could not settle sandbox");
    }
  }

  const instances = listed.filter((i) => i.clusterId !== null || known.has(i.sandboxId));
  for (const instance of instances) {
    const host = deps.hosting.get(instance.sandboxId);
    if (host && !host.actor) continue; // a create in progress: its container may not be in the record yet
    const record = host?.record();
    // While `starting` the record has no handle yet: the container is the start in progress.
    if (record && (record.state === "starting" || (record.internal.handle === instance.handle && record.state !== "killed"))) continue;
    try {
      await deps.driver.remove(instance.handle);
      summary.orphansRemoved++;
      deps.log.warn({ sandboxId: instance.sandboxId, handle: instance.handle.slice(0, 12) }, "removed orphaned container");
    } catch (err) {
      deps.log.error({ sandboxId: instance.sandboxId, err }, "reconcile: could not remove orphaned container");
    }
  }
  return summary;
}
