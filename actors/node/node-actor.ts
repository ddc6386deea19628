/**
 * The node actor: the single owner of every sandbox placed on this node. It
 * composes the pieces of this folder with the NATS side:
 *
 * - commands on `corral.v1.node.<nodeId>.<op>` (from the API service) run in
 *   the target sandbox's mailbox (./sandbox-commands.ts, ./create.ts);
 * - one deadline timer per live sandbox (./hosting.ts) posts TIMEOUT through
 *   the mailbox; the machine re-checks the deadline against its record;
 * - the driver's event stream (a container that exits or vanishes behind
 *   Corral's back) posts a check through the mailbox, which kills the
 *   sandbox with `container_exited` once the engine confirms it is gone;
 * - proxy activity (./activity.ts), the lease (./lease.ts), the lost-node
 *   sweep (./node-lost.ts), and the `corral` API service, which every node
 *   process serves in one queue group.
 *
 * Start-up order matters: the cluster's id is read (made on the cluster's
 * first start) before any container is touched, because every listing, watch
 * and start is scoped to it; driver events are buffered while reconciliation
 * (./reconcile.ts) restores every record of this node, then commands are
 * subscribed, and only then is the lease written, so the scheduler never
 * places a create on a node that cannot take it yet.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/nats-core";
import type { Service } from "@nats-io/services";
import { randomUUID } from "node:crypto";
import { startApiService } from "../../src/api/service.js";
import type { CorralConfig } from "../../src/config.js";
import type { DriverEvent, PauseMode, SandboxDriver } from "../../src/drivers/types.js";
import { DeadlinePassedError, readDeadline, throwIfDeadlinePassed, withDeadline } from "../../src/deadline-header.js";
import { CapacityExhaustedError, UnavailableError, toCorralError } from "../../src/errors.js";
import { backoffMs } from "../../src/lifecycle/backoff.js";
import { untilAvailable } from "../../src/nats/wait.js";
import type { ClusterId, NodeId, SandboxId } from "../../src/ids.js";
import { logger, type Logger } from "../../src/log.js";
import { encodeNodeReply, failure, type NodeReply, type ReconcileSummary } from "../../src/node-protocol.js";
import { ensureClusterId } from "../../src/store/cluster-id.js";
import { NodeRegistry } from "../../src/store/node-registry.js";
import { SandboxStore } from "../../src/store/sandbox-store.js";
import { subjects } from "../../src/subjects.js";
import { TemplateRegistry } from "../../src/templates.js";
import { CORRAL_VERSION } from "../../src/package-root.js";
import type { SandboxMachineEvent } from "../../machines/sandbox/index.js";
import { ActivityFeed } from "./activity.js";
import { startNodeEnvd, type NodeEnvd, type NodeEnvdOptions } from "./envd/attach.js";
import { CapacityLedger, type Amounts } from "./capacity.js";
import { parseNodeCommand } from "./command-schema.js";
import { runCreate, type CreateDeps } from "./create.js";
import { provideDriverActors } from "./driver-actors.js";
import { Hosting } from "./hosting.js";
import { NodeLease } from "./lease.js";
import { Fence, stillOwned } from "./fencing.js";
import { LostNodeSweeper } from "./node-lost.js";
import { ALIVE_INSTANCE_STATES, reconcile, reconcileOne, type ReconcileDeps } from "./reconcile.js";
import { ReconcileLoop } from "./reconcile-loop.js";
import { runSandboxCommand, type CommandDeps } from "./sandbox-commands.js";
import type { SandboxHost } from "./sandbox-host.js";
import { nodeWarm, type NodeWarm } from "./warm/node-warm.js";
import type { WarmSpec } from "./warm/warm-spec.js";

/** Options of {@link NodeActor.start}. */
export interface NodeActorOptions {
  /** The node's connection; the caller owns it (the node never closes it). */
  nc: NatsConnection;
  nodeId: NodeId;
  /** The container engine; the node owns it from here on and closes it on stop. */
  driver: SandboxDriver;
  config: CorralConfig;
  /** What the node admits: cores, MiB of memory and sandbox slots. */
  capacity: Amounts;
  /** How sandboxes are paused. @default "freeze" */
  pauseMode?: PauseMode;
  /** @default TemplateRegistry.fromEnv() */
  templates?: TemplateRegistry;
  /** Address shown in the node record (informational). @default null */
  address?: string | null;
  /** Serve the `corral` API service from this node process too. @default true */
  serveApi?: boolean;
  /** Between two reconciliation passes while the node runs (./reconcile-loop.ts). @default 60000 */
  reconcileIntervalMs?: number;
  /** How long one record write retries an unavailable store before the operation answers `unavailable`. @default 3000 */
  writeRetryBudgetMs?: number;
  /** The envd endpoint for E2B clients (see actors/node/envd); false serves none. @default {} (from the environment) */
  envd?: NodeEnvdOptions | false;
  /** Started-and-frozen members kept per template (`--warm`; docs/warm-pool.md). @default none */
  warm?: WarmSpec;
  /** The warm members' id files (./warm/node-warm.ts). @default <tmpdir>/corral-warm-<nodeId> */
  warmDir?: string;
}

/** Delay of the second fencing pass after a lease comes back. */
const FENCE_RECHECK_MS = 3_000;
/** Retries of a fencing pass that failed on the store (after an outage). */
const FENCE_RETRY_BACKOFF = { baseMs: 250, maxMs: 5_000 };

/** How much shorter than the API's wait a sandbox may take to settle, so the node's answer arrives first. */
const SETTLE_MARGIN_MS = 2_000;

/** A running node actor. */
export class NodeActor {
  readonly nodeId: NodeId;
  /** The cluster this node belongs to (DESIGN.md, "Cluster identity"). */
  readonly clusterId: ClusterId;
  readonly #opts: NodeActorOptions;
  readonly #log: Logger;
  readonly #store: SandboxStore;
  readonly #registry: NodeRegistry;
  readonly #hosting: Hosting;
  readonly #ledger: CapacityLedger;
  readonly #commandDeps: CommandDeps;
  readonly #createDeps: CreateDeps;
  readonly #activity: ActivityFeed;
  readonly #lease: NodeLease;
  readonly #sweeper: LostNodeSweeper;
  readonly #reconciler: ReconcileLoop;
  readonly #fence: Fence;
  readonly #warm: NodeWarm | null;
  /** Fencing steps (leave the API, fence off, serve again), one at a time. */
  #fencing: Promise<void> = Promise.resolve();
  readonly #inFlight = new Set<Promise<void>>();
  #bufferedDriverEvents: DriverEvent[] | null = [];
  #unwatchDriver: (() => void) | null = null;
  #commands: Subscription | null = null;
  #api: Service | null = null;
  #envd: NodeEnvd | null = null;
  #stopping: Promise<void> | null = null;
  /** The start-up reconciliation is done: later passes also publish a settled record's missing event (the re-publisher's catch-up ran before the start-up one). */
  #reconciledAtStart = false;

  private constructor(opts: NodeActorOptions, store: SandboxStore, registry: NodeRegistry, clusterId: ClusterId) {
    this.#opts = opts;
    this.nodeId = opts.nodeId;
    this.clusterId = clusterId;
    this.#store = store;
    this.#registry = registry;
    this.#log = logger("node", { nodeId: opts.nodeId, clusterId });
    const pauseMode = opts.pauseMode ?? "freeze";
    const templates = opts.templates ?? TemplateRegistry.fromEnv();
    const envs = new Map<SandboxId, Record<string, string>>();
    this.#ledger = new CapacityLedger(opts.capacity, pauseMode);
    this.#warm = nodeWarm({
      spec: opts.warm ?? new Map(),
      driver: opts.driver,
      nodeId: opts.nodeId,
      clusterId,
      templates,
      ledger: this.#ledger,
      ...(opts.warmDir === undefined ? {} : { dir: opts.warmDir }),
      log: this.#log,
      onChange: () => this.#lease.bump(),
    });
    this.#hosting = new Hosting({
      nodeId: opts.nodeId,
      store,
      config: opts.config,
      ledger: this.#ledger,
      log: this.#log,
      onDeadline: (host) => this.#track(this.#post(host, "timeout", () => this.#send(host, { type: "TIMEOUT" }))),
      onNeedsReconcile: () => this.#reconciler.soon(),
      writeRetryBudgetMs: opts.writeRetryBudgetMs,
      machine: provideDriverActors({
        driver: opts.driver,
        nodeId: opts.nodeId,
        clusterId,
        pauseMode,
        templates,
        warm: this.#warm?.claims ?? null,
        takeEnv: (id) => {
          const env = envs.get(id) ?? {};
          envs.delete(id);
          return env;
        },
      }),
    });
    this.#commandDeps = {
      nodeId: opts.nodeId,
      store,
      config: opts.config,
      hosting: this.#hosting,
      ledger: this.#ledger,
      resumeNeedsAdmission: pauseMode === "stop",
      settleTimeoutMs: Math.max(1_000, opts.config.nodeRequestTimeoutMs - SETTLE_MARGIN_MS),
      adopt: (record) => this.#reconciler.exclusive(() => reconcileOne(this.#reconcileDeps(), record)),
      log: this.#log,
    };
    this.#createDeps = {
      ...this.#commandDeps,
      templates,
      putEnv: (id, env) => envs.set(id, env),
      dropEnv: (id) => envs.delete(id),
      warm: this.#warm?.claims ?? null,
    };
    this.#activity = new ActivityFeed({
      nc: opts.nc,
      nodeId: opts.nodeId,
      flushMs: opts.config.activityFlushMs,
      log: this.#log,
      apply: (id, at) => {
        const host = this.#hosting.get(id);
        if (!host?.actor) return false;
        this.#hosting.send(host, { type: "ACTIVITY", at });
        return true;
      },
      flush: async (id) => {
        const host = this.#hosting.get(id);
        if (host) await this.#post(host, "flush", () => this.#send(host, { type: "FLUSH" }));
      },
    });
    this.#fence = new Fence({
      leaseMs: opts.config.nodeLeaseMs,
      log: this.#log,
      onLost: () => this.#fenceStep(() => this.#leaveApi()),
      onRegained: () => this.#fenceStep(() => this.#fenceOff()),
    });
    this.#lease = new NodeLease({
      beforeWrite: () => this.#fence.check(),
      onRenewed: (at) => this.#fence.renewed(at),
      registry,
      nodeId: opts.nodeId,
      version: CORRAL_VERSION,
      address: opts.address ?? null,
      driver: opts.driver.kind,
      pauseMode,
      ledger: this.#ledger,
      warm: () => this.#warm?.pool.counts() ?? null,
      warmStarting: () => this.#warm?.pool.startingTotal() ?? 0,
      heartbeatMs: opts.config.heartbeatMs,
      log: this.#log,
    });
    this.#sweeper = new LostNodeSweeper({ nodeId: opts.nodeId, store, registry, config: opts.config, log: this.#log });
    this.#reconciler = new ReconcileLoop({
      intervalMs: opts.reconcileIntervalMs ?? 60_000,
      retryBaseMs: 250,
      retryMaxMs: 5_000,
      log: this.#log,
      pass: async () => {
        let unsettled = 0;
        const summary = await reconcile({ ...this.#reconcileDeps(), onUnsettled: () => unsettled++ });
        void this.#warm?.pool.refill(); // a pool that could not grow (full, or a failed start) tries again
        if (summary.killed + summary.driven + summary.orphansRemoved > 0) this.#log.info({ ...summary }, "reconciled");
        return unsettled === 0;
      },
    });
  }

  /** Opens the store, reads the cluster's id, reconciles, subscribes, registers the lease and (by default) serves the API. */
  static async start(opts: NodeActorOptions): Promise<NodeActor> {
    // A store not ready yet (a cluster's servers still agreeing on a new stream, a leader being elected) delays the start, never ends it.
    const log = logger("node", { nodeId: opts.nodeId });
    const [store, registry, clusterId] = await Promise.all([
      untilAvailable("open the sandbox bucket", () => SandboxStore.open(opts.nc, opts.config), log),
      untilAvailable("open the node bucket", () => NodeRegistry.open(opts.nc, opts.config), log),
      untilAvailable("read the cluster id", () => ensureClusterId(opts.nc, opts.config), log),
    ]);
    const node = new NodeActor(opts, store, registry, clusterId);
    try {
      await node.#start();
    } catch (err) {
      await node.stop().catch(() => undefined);
      throw err;
    }
    return node;
  }

  /** Sandboxes hosted right now (live actors and creates in progress). */
  get hosted(): number {
    return this.#hosting.size;
  }

  /** Reconciles this node's records with its containers (also the `reconcile` command); never beside another pass. */
  reconcile(): Promise<ReconcileSummary> {
    // A record it could not settle (the engine or the store failed) gets a pass soon, not at the next interval.
    return this.#reconciler.exclusive(() => reconcile({ ...this.#reconcileDeps(), onUnsettled: () => this.#reconciler.soon() }));
  }

  #reconcileDeps(): ReconcileDeps {
    return {
      nodeId: this.nodeId,
      clusterId: this.clusterId,
      store: this.#store,
      driver: this.#opts.driver,
      hosting: this.#hosting,
      pauseMode: this.#ledger.pauseMode,
      limits: this.#opts.config,
      log: this.#log,
      drive: (id, event) => this.#postById(id, "reconcile", () => this.#send(this.#hosting.get(id)!, event)),
      checkHosted: (id) => this.#checkContainer(id, null),
      ownsMember: (memberId) => this.#warm?.pool.owns(memberId) ?? false,
      ...(this.#reconciledAtStart ? { publishMissingEvent: (id: SandboxId) => this.#store.publishIfMissing(id) } : {}),
    };
  }

  /**
   * Graceful stop: stops taking commands, lets the ones under way finish,
   * persists coalesced activity, releases the lease, and stops every actor.
   * Sandboxes keep running: a node that starts again re-adopts them.
   */
  stop(): Promise<void> {
    this.#stopping ??= this.#stop();
    return this.#stopping;
  }

  async #start(): Promise<void> {
    this.#unwatchDriver = this.#opts.driver.watch({ nodeId: this.nodeId, clusterId: this.clusterId }, (event) => this.#onDriverEvent(event));
    // A store not ready yet (a replicated bucket electing its leader) delays the start, never ends it.
    const summary = await untilAvailable("reconcile at start", () => this.reconcile(), this.#log);
    this.#log.info({ ...summary }, "reconciled");
    this.#reconciledAtStart = true;
    const buffered = this.#bufferedDriverEvents ?? [];
    this.#bufferedDriverEvents = null;
    for (const event of buffered) this.#onDriverEvent(event);

    this.#commands = this.#opts.nc.subscribe(subjects.nodeAll(this.nodeId), {
      callback: (err, msg) => {
        if (err) return this.#log.error({ err }, "command subscription error");
        this.#track(this.#answer(msg));
      },
    });
    this.#activity.start();
    this.#ledger.onChange = () => {
      this.#lease.bump();
      void this.#warm?.pool.refill(); // capacity freed (a sandbox ended) lets a short pool grow
    };
    if (this.#opts.envd !== false) {
      this.#envd = await startNodeEnvd({
        nc: this.#opts.nc,
        replicas: this.#opts.config.replicas,
        driver: this.#opts.driver.kind,
        lookup: (id) => this.#hosting.get(id)?.record() ?? null,
        log: this.#log,
        options: this.#opts.envd ?? {},
      });
      this.#lease.envd = this.#envd.address;
    }
    await this.#lease.start();
    void this.#warm?.pool.refill();
    this.#sweeper.start();
    this.#reconciler.start();
    this.#fence.start(Math.max(100, Math.floor(this.#opts.config.heartbeatMs / 2)));
    await this.#serveApi();
    this.#log.info({ driver: this.#opts.driver.kind, capacity: this.#ledger.capacity, hosted: this.hosted }, "node started");
  }

  /** Serves the `corral` API (joins the queue group), unless configured not to or already serving. */
  async #serveApi(): Promise<void> {
    if (this.#opts.serveApi === false || this.#api || this.#stopping) return;
    this.#api = await startApiService(
      {
        nc: this.#opts.nc,
        store: this.#store,
        nodes: this.#registry,
        config: this.#opts.config,
        templates: this.#createDeps.templates,
        log: this.#log,
        // Commands on sandboxes hosted here skip the owner lookup and the NATS hop
        // (not while fenced or draining: the command path answers `unavailable` or applies admission).
        // check(), not `lost`: a node waking from a stall may serve a queued request before the fence's timer has run.
        local: (command) =>
          !this.#fence.check() && !this.#lease.draining && this.#hosting.get(command.sandboxId)?.actor ? runSandboxCommand(this.#commandDeps, command) : null,
      },
      this.nodeId,
    );
  }

  /** Leaves the API queue group (a fenced node takes no requests; the others do). */
  async #leaveApi(): Promise<void> {
    const api = this.#api;
    this.#api = null;
    await api?.stop().catch((err: unknown) => this.#log.warn({ err }, "api service stop failed"));
  }

  /** Queues a fencing step behind the previous one. */
  #fenceStep(step: () => Promise<void>): void {
    this.#fencing = this.#fencing.then(step).catch((err: unknown) => this.#log.error({ err }, "fencing step failed"));
    this.#track(this.#fencing);
  }

  /**
   * After a lapse: lets go of every sandbox taken meanwhile (no write), has
   * reconciliation remove their containers, then serves again. Runs a second
   * time a little later, for a lost-node sweep that was still marking when
   * the lease came back.
   */
  async #fenceOff(again = true, failures = 0): Promise<void> {
    if (this.#fence.lost || this.#stopping) return;
    try {
      await this.#fenceOffOnce(again);
    } catch (err) {
      // The lease store can be back before the sandbox store (each stream
      // elects its own leader after an outage): a failed pass would otherwise
      // leave the node out of the API queue group for good, since nothing
      // else ends a fence. Retried with backoff until it serves again.
      const delayMs = backoffMs(failures + 1, FENCE_RETRY_BACKOFF);
      this.#log.warn({ err: (err as Error).message, retryInMs: delayMs }, "fencing off failed; retrying");
      const timer = setTimeout(() => this.#fenceStep(() => this.#fenceOff(again, failures + 1)), delayMs);
      timer.unref?.();
    }
  }

  async #fenceOffOnce(again: boolean): Promise<void> {
    let released = 0;
    for (const host of this.#hosting.all()) {
      if (!host.actor) continue;
      const stored = await this.#store.get(host.sandboxId);
      if (stillOwned(this.nodeId, host.record(), stored)) continue;
      this.#hosting.unhost(host.sandboxId, `taken while this node's lease was lapsed (now ${stored ? `${stored.state} / ${stored.killReason ?? "-"} on ${stored.nodeId}` : "absent"})`);
      released++;
    }
    const summary = await this.reconcile();
    this.#log.warn({ released, orphansRemoved: summary.orphansRemoved }, "fenced off sandboxes taken while the lease was lapsed");
    if (this.#fence.lost || this.#stopping) return;
    await this.#serveApi();
    if (again) {
      const timer = setTimeout(() => this.#fenceStep(() => this.#fenceOff(false)), FENCE_RECHECK_MS);
      timer.unref?.();
    }
  }

  async #stop(): Promise<void> {
    this.#log.info("node stopping");
    this.#fence.stop();
    await this.#leaveApi();
    await this.#envd?.close().catch((err: unknown) => this.#log.warn({ err }, "envd stop failed"));
    const commands = this.#commands;
    this.#commands = null;
    if (commands && !commands.isClosed()) await commands.drain().catch(() => commands.unsubscribe());
    await Promise.allSettled([...this.#inFlight]);
    await this.#activity.stop();
    await this.#activity.flushAll();
    await this.#sweeper.stop();
    await this.#reconciler.stop();
    await this.#warm?.pool.stop();
    await this.#lease.stop();
    await Promise.allSettled(this.#hosting.all().map((host) => host.mailbox.drained()));
    this.#unwatchDriver?.();
    this.#hosting.stopAll();
    await this.#opts.driver.close();
    await this.#store.close().catch((err: unknown) => this.#log.warn({ err }, "could not flush events"));
    this.#log.info("node stopped");
  }

  /** Runs one command and replies; never throws (a bad command is `invalid_argument`, a bug `internal`). */
  async #answer(msg: Msg): Promise<void> {
    await this.#answerCommand(msg);
    // The events of the writes behind this reply go out right behind it.
    this.#store.flushEventsAfterReply();
  }

  async #answerCommand(msg: Msg): Promise<void> {
    const deadline = readDeadline(msg.headers);
    let reply: NodeReply;
    try {
      reply = await this.#runCommand(msg, deadline);
    } catch (raw) {
      if (raw instanceof DeadlinePassedError) {
        // Its caller has gone (this node was stalled, or the command queued):
        // dropped before acting, so no ghost create and no late deadline move.
        this.#log.warn({ subject: msg.subject, deadline, reason: raw.message }, "command past its deadline dropped");
        return;
      }
      const errorId = randomUUID();
      const err = toCorralError(raw, errorId);
      if (err.code === "internal") this.#log.error({ errorId, subject: msg.subject, err: raw }, "node command failed");
      reply = failure(err);
    }
    if (msg.reply) msg.respond(encodeNodeReply(reply));
  }

  /** One command; past `deadline` on arrival it is dropped (DeadlinePassedError). */
  async #runCommand(msg: Msg, deadline: number | null): Promise<NodeReply> {
    throwIfDeadlinePassed(`command ${msg.subject}`, Date.now(), deadline);
    const command = parseNodeCommand(msg.subject, msg.data);
    if (command.op === "reconcile") return { ok: true, summary: await this.reconcile() };
    if (command.op === "drain") return { ok: true, node: await this.#lease.setDrain(command.drain) };
    if (this.#fence.check()) throw new UnavailableError(`node ${this.nodeId} has lost its lease and admits no work until it is renewed; retry later`);
    if (command.op === "create") {
      if (this.#lease.draining) throw new CapacityExhaustedError(`node ${this.nodeId} is draining`);
      // The deadline goes with the command into the sandbox's mailbox, which checks it again when its turn comes.
      return withDeadline(deadline, () => runCreate(this.#createDeps, command.sandboxId, command.spec));
    }
    if (this.#lease.draining && this.#needsCapacity(command)) throw new CapacityExhaustedError(`node ${this.nodeId} is draining: a resume that needs new capacity is not admitted`);
    return withDeadline(deadline, () => runSandboxCommand(this.#commandDeps, command));
  }

  /** A resume of a paused sandbox whose pause released its quota (`pause-mode stop`). */
  #needsCapacity(command: { op: string; sandboxId: SandboxId }): boolean {
    if (!this.#commandDeps.resumeNeedsAdmission || (command.op !== "resume" && command.op !== "connect")) return false;
    return this.#hosting.get(command.sandboxId)?.record()?.state === "paused";
  }

  #onDriverEvent(event: DriverEvent): void {
    if (this.#bufferedDriverEvents) {
      this.#bufferedDriverEvents.push(event);
      return;
    }
    if (event.poolMember === undefined) return this.#checkContainer(event.sandboxId, event.handle);
    // A warm member: a ready one is replaced; a claimed one is its sandbox's container (found by handle).
    this.#warm?.pool.lost(event.poolMember);
    const host = this.#hosting.byHandle(event.handle);
    if (host) this.#checkContainer(host.sandboxId, event.handle);
  }

  /**
   * Through the sandbox's mailbox: if its container (the one named by
   * `handle`, when given) is really gone or exited, kill the sandbox with
   * `container_exited`. A sandbox being killed, or one whose record names
   * another container (a new incarnation), is left alone.
   */
  #checkContainer(id: SandboxId, handle: string | null): void {
    this.#postById(id, "container check", async () => {
      const host = this.#hosting.get(id);
      const record = host?.record();
      if (!host || !record || (record.state !== "running" && record.state !== "paused")) return;
      const current = record.internal.handle;
      if (!current || (handle !== null && handle !== current)) return;
      const instance = await this.#opts.driver.inspect(current);
      if (instance && ALIVE_INSTANCE_STATES.has(instance.state)) return;
      this.#log.warn({ sandboxId: id, handle: current.slice(0, 12), state: instance?.state ?? "missing" }, "container exited behind corral's back");
      await this.#send(host, { type: "KILL", reason: "container_exited" });
    });
  }

  /** Sends an event to a hosted machine and waits for it to settle (inside a mailbox turn). */
  async #send(host: SandboxHost, event: SandboxMachineEvent): Promise<void> {
    if (!host.actor) return;
    this.#hosting.send(host, event);
    await host.settled(this.#commandDeps.settleTimeoutMs);
  }

  #postById(id: SandboxId, what: string, task: () => Promise<void>): void {
    const host = this.#hosting.get(id);
    if (host) this.#track(this.#post(host, what, task));
  }

  /** Runs `task` in `host`'s mailbox turn; failures are logged, never thrown. */
  async #post(host: SandboxHost, what: string, task: () => Promise<void>): Promise<void> {
    try {
      await host.mailbox.post(task);
    } catch (err) {
      this.#log.warn({ sandboxId: host.sandboxId, what, err: (err as Error).message }, "sandbox task failed");
    } finally {
      this.#hosting.release(host);
    }
  }

  #track(work: Promise<void>): void {
    this.#inFlight.add(work);
    void work.finally(() => this.#inFlight.delete(work));
  }
}
