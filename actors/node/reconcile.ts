/**
 * Reconciliation: make the KV records of this node and the containers of
 * this node agree. Runs at start-up, before the node takes commands, on the
 * `reconcile` command, while the node runs (periodically, and as soon as the
 * store answers again after a write failed), and for one record when a
 * command finds it unhosted. Nothing is left half-done, nothing leaks:
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
 * - A record in a transient state says its intent was stored and its
 *   outcome was not (a crash, or a write that failed): the operation is
 *   finished on the container (the driver's calls are idempotent) and its
 *   outcome written by the machine's own rule (`DRIVER_OUTCOMES`), so the
 *   caller gets what it asked for: a kill ends `killed` / `request`, a pause
 *   `paused`, a resume `running`.
 *   `starting` is the exception: it is always killed (`start_failed`),
 *   because the create's reply, carrying the one-time traffic token, was
 *   never delivered: an adopted sandbox would be unreachable for a `secure`
 *   client and unknown to a keyless one, while a retried create (same key)
 *   gets a fresh incarnation and token.
 * - Each stable record is then restored as a machine actor (no write) and
 *   its deadline timer armed from `endAt`: a deadline that passed while the
 *   node was down fires at once.
 * - A hosted sandbox is compared with the engine's list (one call for all);
 *   only one whose container is missing or not alive there is re-checked
 *   through its mailbox (killed `container_exited` if really gone). So a
 *   pass costs one list and one scan, not a call per sandbox.
 *
 * - Warm-pool members (label `corral.pool-member`): one the running pool
 *   owns (being started, ready, or being claimed) is skipped; any other that
 *   no live record names is an orphan (a member of an earlier run, or one a
 *   crash left half-claimed). A claimed member keeps the member's id in its
 *   `corral.sandbox-id` label, so containers are matched to records by
 *   `internal.handle` first, by label only before a start wrote the handle.
 *
 * Every write is a CAS on the revision that was read: a record that changed
 * meanwhile is left to the next reconciliation, never overwritten blindly.
 */
import type { DriverInstance, PauseMode, SandboxDriver } from "../../src/drivers/types.js";
import type { ClusterId, NodeId, SandboxId } from "../../src/ids.js";
import type { ReconcileSummary } from "../../src/node-protocol.js";
import type { Logger } from "../../src/log.js";
import type { DeadlineLimits } from "../../src/lifecycle/deadline.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { DRIVER_OUTCOMES, toContainerExited, type SandboxMachineEvent, type WriteEventName } from "../../machines/sandbox/index.js";
import type { Hosting } from "./hosting.js";

/** What reconciliation needs from the node. */
export interface ReconcileDeps {
  nodeId: NodeId;
  clusterId: ClusterId;
  store: Pick<SandboxStore, "scan" | "get" | "mutate">;
  driver: SandboxDriver;
  hosting: Hosting;
  pauseMode: PauseMode;
  limits: DeadlineLimits;
  log: Logger;
  /** Posts an event through a restored sandbox's mailbox (completes an interrupted operation). */
  drive: (id: SandboxId, event: SandboxMachineEvent) => void;
  /** Re-checks a hosted sandbox's container through its mailbox (kills it if gone). */
  checkHosted: (id: SandboxId) => void;
  /** Whether the running warm pool owns the member `memberId` (never an orphan). @default none */
  ownsMember?: (memberId: string) => boolean;
  /** A record could not be settled (the store or the engine failed): a later pass must try again. */
  onUnsettled?: (id: SandboxId, err: unknown) => void;
  /**
   * Publishes the event of a live record about to be settled when the stream
   * has none at its revision (`SandboxStore.publishIfMissing`): our own write
   * that landed while its writer reported it failed. Unset for the start-up
   * pass, which the re-publisher's catch-up precedes. @default none
   */
  publishMissingEvent?: (id: SandboxId) => Promise<unknown>;
}

export type { ReconcileSummary } from "../../src/node-protocol.js";

/** Instance states in which a sandbox's container/process is still there to be used. */
export const ALIVE_INSTANCE_STATES: ReadonlySet<string> = new Set(["running", "paused", "stopped"]);

/** Writes `next` only if the record is still at `from.revision`; null when it changed meanwhile. */
async function writeIf(deps: ReconcileDeps, from: StoredSandbox, next: StoredSandbox, event: WriteEventName): Promise<StoredSandbox | null> {
  let wrote = false;
  const stored = await deps.store.mutate(from.sandboxId, (latest) => {
    if (latest.revision !== from.revision) return null;
    wrote = true;
    return { record: next, event };
  });
  return wrote ? stored : null;
}

async function removeAll(deps: ReconcileDeps, instances: readonly DriverInstance[]): Promise<void> {
  for (const i of instances) await deps.driver.remove(i.handle);
}

type Decided = { record: StoredSandbox; event: WriteEventName };

/** Finishes the pause or resume whose intent `record` is, on `instance`, and decides its outcome by the machine's rule. */
async function finish(deps: ReconcileDeps, record: StoredSandbox & { state: "pausing" | "resuming" }, instance: DriverInstance): Promise<Decided> {
  const outcomes = DRIVER_OUTCOMES[record.state];
  try {
    if (record.state === "pausing") {
      await deps.driver.pause(instance.handle, deps.pauseMode);
      const output = { endpointKept: deps.driver.keepsEndpointWhenPaused(deps.pauseMode) };
      return { record: DRIVER_OUTCOMES.pausing.done.decide(record, output, Date.now(), deps.limits), event: outcomes.done.event };
    }
    const endpoint = await deps.driver.resume(instance.handle, deps.pauseMode);
    return { record: DRIVER_OUTCOMES.resuming.done.decide(record, { endpoint }, Date.now(), deps.limits), event: outcomes.done.event };
  } catch (err) {
    return { record: outcomes.failed.decide(record, err, Date.now(), deps.limits), event: outcomes.failed.event };
  }
}

/** What an unhosted live record of this node becomes, given its containers (null: it stays as it is). */
async function decide(deps: ReconcileDeps, record: StoredSandbox, mine: DriverInstance[]): Promise<Decided | null> {
  const now = Date.now();
  const instance = mine[0];
  const alive = instance !== undefined && ALIVE_INSTANCE_STATES.has(instance.state);
  if (record.state === "starting") {
    await removeAll(deps, mine);
    const error = new Error("node restarted while the sandbox was starting");
    return { record: DRIVER_OUTCOMES.starting.failed.decide(record, error, now, deps.limits), event: DRIVER_OUTCOMES.starting.failed.event };
  }
  if (record.state === "killing") {
    // The kill's intent (and its reason) is stored: finish the removal.
    await removeAll(deps, mine);
    return { record: DRIVER_OUTCOMES.killing.done.decide(record, undefined, now, deps.limits), event: DRIVER_OUTCOMES.killing.done.event };
  }
  if (!alive) {
    await removeAll(deps, mine);
    return { record: toContainerExited(record, now), event: "container_exited" };
  }
  if (record.state === "pausing" || record.state === "resuming") return finish(deps, record as StoredSandbox & { state: "pausing" | "resuming" }, instance);
  // Paused or resumed behind Corral's back: the record is the truth.
  if (record.state === "running" && instance.state !== "running") await deps.driver.resume(instance.handle, instance.state === "stopped" ? "stop" : "freeze");
  else if (record.state === "paused" && instance.state === "running") await deps.driver.pause(instance.handle, deps.pauseMode);
  return null;
}

/**
 * Settles one unhosted record of this node against its containers, writes the stable state and hosts it.
 *
 * A live `record` was read before (a scan, or a command's get) and so was the
 * engine's list. A record rewritten since (a kill that completed and
 * unhosted the sandbox while the pass was reading) is left to the next pass:
 * acting on it would drive the engine by an old record, or host a stale
 * actor (no write checks it) that answers with a revision the store has
 * moved past. Equal revisions mean nothing touched it since it was read.
 */
async function settle(deps: ReconcileDeps, record: StoredSandbox, instances: DriverInstance[], summary: ReconcileSummary): Promise<void> {
  if (record.state === "killed") {
    deps.hosting.restore(record); // tombstone timer (never moved back to an older revision); its containers go with the orphans
    return;
  }
  const current = await deps.store.get(record.sandboxId);
  if (current === null || current.revision !== record.revision) {
    deps.log.info({ sandboxId: record.sandboxId, read: record.revision, current: current?.revision ?? null }, "reconcile: record changed since it was read; left for the next pass");
    return;
  }
  // Before anything is written on top of it: its own event, if its writer never sent one.
  await deps.publishMissingEvent?.(record.sandboxId);
  const mine = instances.filter((i) =>
    record.internal.handle ? i.handle === record.internal.handle : i.sandboxId === record.sandboxId && i.incarnation === record.internal.incarnation,
  );
  const next = await decide(deps, record, mine);
  const stable = next ? await writeIf(deps, record, next.record, next.event) : record;
  if (stable === null) {
    deps.log.info({ sandboxId: record.sandboxId }, "reconcile: record changed meanwhile; left for the next pass");
    return;
  }
  if (stable.state === "killed") summary.killed++;
  if (record.state === "pausing" || record.state === "resuming") summary.driven++;
  deps.hosting.restore(stable);
  summary.restored++;
  // A pause the reconciliation could not finish is retried by the machine, as any failed pause.
  if (next?.event === "pause_failed") deps.drive(stable.sandboxId, { type: "PAUSE" });
}

/** Settles the one unhosted record `record` (a command found it so); true when it is hosted afterwards. */
export async function reconcileOne(deps: ReconcileDeps, record: StoredSandbox): Promise<boolean> {
  if (record.nodeId !== deps.nodeId || deps.hosting.get(record.sandboxId)?.actor) return deps.hosting.get(record.sandboxId)?.actor != null;
  const instances = (await deps.driver.list({ nodeId: deps.nodeId, clusterId: deps.clusterId })).filter(
    (i) => i.sandboxId === record.sandboxId || i.handle === record.internal.handle,
  );
  await settle(deps, record, instances, { restored: 0, killed: 0, driven: 0, orphansRemoved: 0, checked: 0 });
  return deps.hosting.get(record.sandboxId)?.actor != null;
}

/** Reconciles this node's records with its containers; see the module comment. */
export async function reconcile(deps: ReconcileDeps): Promise<ReconcileSummary> {
  const summary: ReconcileSummary = { restored: 0, killed: 0, driven: 0, orphansRemoved: 0, checked: 0 };
  const listed = await deps.driver.list({ nodeId: deps.nodeId, clusterId: deps.clusterId });
  const bySandbox = new Map<SandboxId, DriverInstance[]>();
  const byHandle = new Map<string, DriverInstance>();
  for (const i of listed) {
    bySandbox.set(i.sandboxId, [...(bySandbox.get(i.sandboxId) ?? []), i]);
    byHandle.set(i.handle, i);
  }
  /** A record's containers: by its id's label, plus the one its handle names (a claimed member carries another id). */
  const instancesOf = (record: StoredSandbox): DriverInstance[] => {
    const own = bySandbox.get(record.sandboxId) ?? [];
    const named = record.internal.handle ? byHandle.get(record.internal.handle) : undefined;
    return named && !own.includes(named) ? [...own, named] : own;
  };
  const known = new Set<SandboxId>();

  /** Containers a live record of this node names (by handle, or by incarnation before the start wrote one): never orphans. */
  const named = new Set<string>();
  for await (const record of deps.store.scan()) {
    known.add(record.sandboxId);
    if (record.nodeId !== deps.nodeId) continue;
    if (record.state !== "killed") named.add(record.internal.handle ?? `${record.sandboxId}#${record.internal.incarnation}`);
    const host = deps.hosting.get(record.sandboxId);
    if (host) {
      // Hosted (or being created): its mailbox owns it. Only a container the engine does not list alive is re-checked.
      const handle = host.record()?.internal.handle;
      if (host.actor) {
        summary.checked++;
        const listed = handle ? byHandle.get(handle) : undefined;
        if (!listed || !ALIVE_INSTANCE_STATES.has(listed.state)) deps.checkHosted(record.sandboxId);
      }
      continue;
    }
    try {
      await settle(deps, record, instancesOf(record), summary);
    } catch (err) {
      deps.log.error({ sandboxId: record.sandboxId, err }, "reconcile: could not settle sandbox");
      deps.onUnsettled?.(record.sandboxId, err);
    }
  }

  const instances = listed.filter((i) => i.clusterId !== null || known.has(i.sandboxId));
  for (const instance of instances) {
    // Named by a live record: settled above, or left for the next pass (its write failed), never removed as an orphan.
    if (named.has(instance.handle) || named.has(`${instance.sandboxId}#${instance.incarnation}`)) continue;
    if (instance.poolMember !== undefined && deps.ownsMember?.(instance.poolMember)) continue;
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
