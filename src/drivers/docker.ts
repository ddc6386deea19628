/**
 * The docker driver: one container per sandbox, through dockerode.
 *
 * Hot paths are kept to the engine calls that cannot be avoided, because the
 * node's latency targets are measured against raw dockerode:
 * - start: create, start, one inspect (the bridge IP), TCP connect-retry;
 * - pause/resume (freeze): one pause/unpause; the endpoint comes from a
 *   per-handle cache filled at start/inspect/list;
 * - remove: one `remove --force`.
 * No published ports: the proxy reaches the container's bridge IP directly.
 * Every engine error goes through `mapDockerError` (./errors.ts).
 */
import fs from "node:fs";
import Dockerode from "dockerode";
import type { ClusterId, NodeId, SandboxId } from "../ids.js";
import { logger, type Logger } from "../log.js";
import type { Endpoint } from "../schema/record.js";
import { watchDockerEvents } from "./docker-events.js";
import { DriverError, mapDockerError, type DriverOp } from "./errors.js";
import { freezerOf, type Freezer, type FreezerRoots } from "./freezer.js";
import {
  LABEL_CLUSTER_ID,
  LABEL_INCARNATION,
  LABEL_NODE_ID,
  LABEL_POOL_MEMBER,
  LABEL_READY_PORT,
  LABEL_READY_TIMEOUT_MS,
  LABEL_SANDBOX_ID,
  LABEL_TEMPLATE,
  bareName,
  containerName,
  isStoppedName,
  runningName,
  stoppedName,
} from "./labels.js";
import { oneFileTar } from "./tar.js";
import { SerialQueue } from "../serial-queue.js";
import { waitForTcp } from "./readiness.js";
import { inScope, scopeNodeId, type DriverScope } from "./scope.js";
import type { DriverEvent, DriverInstance, InstanceState, PauseMode, SandboxDriver, SandboxSpec, StartedSandbox } from "./types.js";

/** Options of {@link DockerDriver}; all optional. */
/** Attempts of an unpause that dockerd refuses as "not paused" while the container is paused. */
const UNPAUSE_ATTEMPTS = 5;

export interface DockerDriverOptions {
  /** A dockerode client to use (tests, custom TLS). @default new Dockerode({socketPath}) */
  docker?: Dockerode;
  /** Engine socket when `docker` is not given. @default "/var/run/docker.sock" (or env CORRAL_DOCKER_SOCKET) */
  socketPath?: string;
  /** Docker network the containers join; the endpoint is their address on it. @default "bridge" */
  network?: string;
  /** Max processes per container (fork-bomb guard). @default 256 */
  pidsLimit?: number;
  /**
   * Grace before SIGKILL in a `stop`-mode pause. A main process that ignores
   * SIGTERM (busybox httpd as PID 1 does) costs this much per pause. @default 1
   */
  stopGraceSeconds?: number;
  /**
   * Where warm-pool members' freezer cgroups are looked up (./freezer.ts);
   * where there is none, members are frozen with `docker pause`.
   * @default the host's /proc and /sys/fs/cgroup
   */
  freezerRoots?: FreezerRoots;
}

const MIB = 1024 * 1024;

/** Docker's container summary/inspect state → the driver's InstanceState. */
function stateOf(status: string, name: string): InstanceState {
  switch (status) {
    case "running":
    case "restarting":
      return "running";
    case "paused":
      return "paused";
    case "created":
      return "created";
    default:
      // exited / dead / removing: a stop-mode pause is told apart by the name marker.
      return isStoppedName(name) ? "stopped" : "exited";
  }
}

/** The docker implementation of {@link SandboxDriver}. */
export class DockerDriver implements SandboxDriver {
  readonly kind = "docker" as const;
  readonly #docker: Dockerode;
  readonly #network: string;
  readonly #pidsLimit: number;
  readonly #stopGraceSeconds: number;
  readonly #freezerRoots: FreezerRoots;
  readonly #log: Logger;
  /** Endpoint per handle, so a freeze-resume costs one engine call. Entries die with remove. */
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #watchers = new Set<() => void>();
  /** Warm-pool members frozen through their freezer cgroup (./freezer.ts), until thawed or removed. */
  readonly #frozenMembers = new Map<string, Freezer>();
  /**
   * Engine calls that make a container join or leave its network (start,
   * stop, remove) run one at a time. Docker 20.10 before 20.10.27 (Debian 12
   * ships 20.10.24) deadlocks its whole network controller when two
   * containers leave a network at the same moment (moby/moby#46661: one
   * exit's `sbLeave` holds the network lock and waits for the controller's
   * while the endpoint-delete watcher holds the controller's and waits for
   * the network's); every later create, start and `docker ps` then hangs
   * until dockerd restarts. One node's own calls can no longer collide.
   */
  readonly #networkCalls = new SerialQueue();

  constructor(options: DockerDriverOptions = {}) {
    this.#docker =
      options.docker ?? new Dockerode({ socketPath: options.socketPath ?? process.env.CORRAL_DOCKER_SOCKET ?? "/var/run/docker.sock" });
    this.#network = options.network ?? "bridge";
    this.#pidsLimit = options.pidsLimit ?? 256;
    this.#stopGraceSeconds = options.stopGraceSeconds ?? 1;
    this.#freezerRoots = options.freezerRoots ?? {};
    this.#log = logger("driver.docker");
  }

  async start(spec: SandboxSpec): Promise<StartedSandbox> {
    const name = containerName(spec.clusterId, spec.sandboxId, spec.incarnation);
    const container = await this.#create(spec, name);
    try {
      await this.#networkCalls.post(() => container.start());
      const host = await this.#addressOf(container, "start");
      await this.#waitReady(container, host, spec.template.readyPort, spec.template.readyTimeoutMs, "start");
      const endpoint: Endpoint = { host, ports: {} };
      this.#endpoints.set(container.id, endpoint);
      return { handle: container.id, endpoint };
    } catch (err) {
      // Nothing half-made is left behind: the node records start_failed and moves on.
      await this.#networkCalls.post(() => container.remove({ force: true })).catch((removeErr: unknown) => {
        this.#log.warn({ err: removeErr, sandboxId: spec.sandboxId, handle: container.id }, "could not remove failed container");
      });
      throw mapDockerError("start", err);
    }
  }

  /**
   * Claims a frozen warm-pool member (DESIGN.md "Warm pool") for `sandboxId`:
   * writes the id into `idFile` inside the still-frozen container, then
   * thaws it. With `hostFile` (the member was made with it bind-mounted at
   * `idFile`) the id is written there, in place, on the host; else it is
   * copied into the container's filesystem (put-archive, which needs no
   * running process but costs a filesystem walk of the engine). The
   * container's main process was started long before; a template whose
   * process answers its id reads that file at request time (the base image
   * serves `/www/id` as a static file). A member frozen by
   * {@link freezeMember} through its freezer cgroup is thawed the same way
   * (one write); one Docker froze is unpaused.
   */
  async claimMember(handle: string, sandboxId: SandboxId, idFile: string, hostFile?: string): Promise<Endpoint> {
    const slash = idFile.lastIndexOf("/");
    try {
      // Truncated and written in place (the mount holds this inode); a few bytes: synchronous costs less than a thread-pool hop.
      if (hostFile !== undefined) fs.writeFileSync(hostFile, sandboxId);
      else await this.#docker.getContainer(handle).putArchive(oneFileTar(idFile.slice(slash + 1), sandboxId), { path: idFile.slice(0, slash) || "/" });
    } catch (err) {
      throw mapDockerError("resume", err);
    }
    const freezer = this.#frozenMembers.get(handle);
    if (!freezer) return this.resume(handle, "freeze");
    this.#frozenMembers.delete(handle);
    try {
      freezer.thaw();
    } catch (err) {
      // The cgroup goes with the container.
      throw new DriverError("resume", "vanished", `container ${handle.slice(0, 12)}: ${(err as Error).message}`);
    }
    return this.#endpointOf(handle);
  }

  /**
   * Freezes a started warm-pool member until {@link claimMember} thaws it:
   * through its freezer cgroup when this process can write it (a claim's
   * thaw is then one write instead of an unpause through the engine),
   * else with `docker pause`.
   */
  async freezeMember(handle: string): Promise<void> {
    let pid: number;
    try {
      pid = (await this.#docker.getContainer(handle).inspect()).State.Pid;
    } catch (err) {
      throw mapDockerError("pause", err);
    }
    const freezer = pid > 0 ? freezerOf(pid, this.#freezerRoots) : null;
    if (!freezer) return this.pause(handle, "freeze");
    try {
      await freezer.freeze();
    } catch (err) {
      throw new DriverError("pause", "engine", `container ${handle.slice(0, 12)}: ${(err as Error).message}`);
    }
    this.#frozenMembers.set(handle, freezer);
  }

  keepsEndpointWhenPaused(mode: PauseMode): boolean {
    return mode === "freeze";
  }

  async pause(handle: string, mode: PauseMode): Promise<void> {
    if (mode === "freeze") {
      try {
        await this.#docker.getContainer(handle).pause();
      } catch (err) {
        const mapped = mapDockerError("pause", err);
        if (mapped.reason !== "already") throw mapped;
      }
      return;
    }
    await this.#pauseStop(handle);
  }

  async resume(handle: string, mode: PauseMode): Promise<Endpoint> {
    if (mode === "freeze") {
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#docker.getContainer(handle).unpause();
          break;
        } catch (err) {
          const mapped = mapDockerError("resume", err);
          if (mapped.reason !== "not_paused") throw mapped;
          // "is not paused" is also what a dead container answers: only a running one is resumed.
          const instance = await this.inspect(handle);
          if (instance?.state === "running") return instance.endpoint!;
          // Right after a pause dockerd may still refuse the unpause while inspect already says paused: retry briefly.
          if (instance?.state === "paused" && attempt < UNPAUSE_ATTEMPTS) {
            await new Promise((r) => setTimeout(r, 10 * attempt));
            continue;
          }
          throw new DriverError("resume", instance ? "not_running" : "vanished", `container ${handle.slice(0, 12)} is ${instance?.state ?? "gone"}`);
        }
      }
      return this.#endpointOf(handle);
    }
    return this.#resumeStop(handle);
  }

  /** A thawed container's endpoint: cached since its start, else one inspect. */
  async #endpointOf(handle: string): Promise<Endpoint> {
    const cached = this.#endpoints.get(handle);
    if (cached) return cached;
    const instance = await this.inspect(handle);
    if (!instance?.endpoint) throw new DriverError("resume", "vanished", `container ${handle.slice(0, 12)} is gone`);
    return instance.endpoint;
  }

  async remove(handle: string): Promise<void> {
    this.#endpoints.delete(handle);
    this.#frozenMembers.delete(handle); // the engine removes a frozen container as it is
    try {
      await this.#networkCalls.post(() => this.#docker.getContainer(handle).remove({ force: true }));
    } catch (err) {
      const mapped = mapDockerError("remove", err);
      if (mapped.reason !== "vanished" && mapped.reason !== "already") throw mapped;
    }
  }

  async inspect(handle: string): Promise<DriverInstance | null> {
    let info: Dockerode.ContainerInspectInfo;
    try {
      info = await this.#docker.getContainer(handle).inspect();
    } catch (err) {
      const mapped = mapDockerError("inspect", err);
      if (mapped.reason === "vanished") return null;
      throw mapped;
    }
    const labels = info.Config.Labels ?? {};
    const status = info.State.Paused ? "paused" : info.State.Status;
    const state = stateOf(status, bareName(info.Name));
    const ip = info.NetworkSettings.Networks?.[this.#network]?.IPAddress;
    return this.#instance(info.Id, labels, state, ip);
  }

  async list(scope: DriverScope): Promise<DriverInstance[]> {
    let summaries: Dockerode.ContainerInfo[];
    try {
      // Docker ANDs label filters and cannot ask for "this cluster or none": the cluster is filtered here.
      summaries = await this.#docker.listContainers({ all: true, filters: { label: [`${LABEL_NODE_ID}=${scopeNodeId(scope)}`] } });
    } catch (err) {
      throw mapDockerError("list", err);
    }
    return summaries.filter((c) => inScope(scope, c.Labels?.[LABEL_CLUSTER_ID])).map((c) => {
      const state = stateOf(c.State, bareName(c.Names[0] ?? ""));
      return this.#instance(c.Id, c.Labels ?? {}, state, c.NetworkSettings?.Networks?.[this.#network]?.IPAddress);
    });
  }

  watch(scope: DriverScope, onEvent: (event: DriverEvent) => void): () => void {
    const stop = watchDockerEvents(this.#docker, scope, onEvent, this.#log.child({ nodeId: scopeNodeId(scope) }));
    const unwatch = () => {
      this.#watchers.delete(unwatch);
      stop();
    };
    this.#watchers.add(unwatch);
    return unwatch;
  }

  async close(): Promise<void> {
    for (const unwatch of [...this.#watchers]) unwatch();
    this.#endpoints.clear();
    this.#frozenMembers.clear();
  }

  /** createContainer; a name left by a crashed earlier attempt of this incarnation is removed once. */
  async #create(spec: SandboxSpec, name: string): Promise<Dockerode.Container> {
    const body: Dockerode.ContainerCreateOptions = {
      name,
      Image: spec.template.image,
      Labels: {
        [LABEL_SANDBOX_ID]: spec.sandboxId,
        [LABEL_CLUSTER_ID]: spec.clusterId,
        [LABEL_NODE_ID]: spec.nodeId,
        [LABEL_INCARNATION]: String(spec.incarnation),
        [LABEL_TEMPLATE]: spec.template.name,
        // A stop-mode resume gets only the handle; readiness parameters travel with the container.
        [LABEL_READY_PORT]: String(spec.template.readyPort),
        [LABEL_READY_TIMEOUT_MS]: String(spec.template.readyTimeoutMs),
        ...(spec.poolMember === undefined ? {} : { [LABEL_POOL_MEMBER]: spec.poolMember }),
      },
      Env: [...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`), `CORRAL_SANDBOX_ID=${spec.sandboxId}`],
      HostConfig: {
        NanoCpus: Math.round(spec.resources.cpu * 1e9),
        Memory: spec.resources.memoryMB * MIB,
        // Equal to Memory: no swap on top, so the limit is what the node counts.
        MemorySwap: spec.resources.memoryMB * MIB,
        PidsLimit: this.#pidsLimit,
        NetworkMode: this.#network,
        ...(spec.bindFile ? { Binds: [`${spec.bindFile.hostPath}:${spec.bindFile.path}`] } : {}),
      },
    };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#docker.createContainer(body);
      } catch (err) {
        const mapped = mapDockerError("start", err);
        if (mapped.reason !== "name_conflict" || attempt > 0) throw mapped;
        await this.#removeStale(name, spec);
      }
    }
  }

  /** Removes the container holding `name` only if it is ours (same sandbox, cluster and node labels). */
  async #removeStale(name: string, spec: SandboxSpec): Promise<void> {
    const stale = this.#docker.getContainer(name);
    let labels: Record<string, string>;
    try {
      labels = (await stale.inspect()).Config.Labels ?? {};
    } catch (err) {
      const mapped = mapDockerError("start", err);
      if (mapped.reason === "vanished") return; // removed meanwhile: the retry will succeed
      throw mapped;
    }
    if (labels[LABEL_SANDBOX_ID] !== spec.sandboxId || labels[LABEL_CLUSTER_ID] !== spec.clusterId || labels[LABEL_NODE_ID] !== spec.nodeId) {
      throw new DriverError("start", "name_conflict", `container name ${name} is taken by a container Corral did not create for this sandbox`);
    }
    this.#log.info({ sandboxId: spec.sandboxId, name }, "removing stale container of an earlier attempt");
    await this.remove(name);
  }

  /** The container's address on the driver's network (one inspect). */
  async #addressOf(container: Dockerode.Container, op: DriverOp): Promise<string> {
    const info = await container.inspect();
    const ip = info.NetworkSettings.Networks?.[this.#network]?.IPAddress;
    if (!ip) {
      const why = info.State.Running ? `has no address on network ${this.#network}` : `exited with code ${info.State.ExitCode}`;
      throw new DriverError(op, info.State.Running ? "engine" : "exited", `container ${container.id.slice(0, 12)} ${why}`);
    }
    return ip;
  }

  /** TCP readiness; every 200 ms of waiting it checks the main process has not exited. */
  async #waitReady(container: Dockerode.Container, host: string, port: number, timeoutMs: number, op: DriverOp): Promise<void> {
    await waitForTcp(host, port, {
      op,
      timeoutMs,
      check: async () => {
        const info = await container.inspect();
        if (!info.State.Running) {
          throw new DriverError(op, "exited", `main process exited with code ${info.State.ExitCode} before port ${port} was ready`);
        }
      },
    });
  }

  /**
   * Stop-mode pause: mark the name first, then stop, so that the `die` the
   * stop causes already carries the marker (the watcher drops it) and a crash
   * in between leaves a running container that a retried pause completes.
   */
  async #pauseStop(handle: string): Promise<void> {
    const container = this.#docker.getContainer(handle);
    let name: string;
    let running: boolean;
    try {
      const info = await container.inspect();
      name = bareName(info.Name);
      running = info.State.Running;
      // A frozen container is thawed first: the engine refuses to stop a paused one.
      if (info.State.Paused) await container.unpause();
    } catch (err) {
      throw mapDockerError("pause", err);
    }
    if (!running && isStoppedName(name)) return; // already paused in stop mode
    this.#endpoints.delete(handle);
    try {
      if (!isStoppedName(name)) await container.rename({ name: stoppedName(name) });
      await this.#networkCalls.post(() => container.stop({ t: this.#stopGraceSeconds }));
    } catch (err) {
      const mapped = mapDockerError("pause", err);
      if (mapped.reason === "already") return;
      // Undo the marker so a later exit of the still-running container is reported.
      await container.rename({ name: runningName(name) }).catch(() => {});
      throw mapped;
    }
  }

  /**
   * Stop-mode resume: drop the marker first (a crash after it leaves an exited
   * container that a retried resume simply starts), start, re-read the address
   * (it may change across a stop) and wait for readiness.
   */
  async #resumeStop(handle: string): Promise<Endpoint> {
    const container = this.#docker.getContainer(handle);
    let labels: Record<string, string>;
    try {
      const info = await container.inspect();
      labels = info.Config.Labels ?? {};
      const name = bareName(info.Name);
      if (isStoppedName(name)) await container.rename({ name: runningName(name) });
      if (info.State.Paused) await container.unpause(); // frozen, not stopped: thaw instead
      else if (!info.State.Running) await this.#networkCalls.post(() => container.start());
    } catch (err) {
      const mapped = mapDockerError("resume", err);
      if (mapped.reason !== "already") throw mapped;
      labels = {};
    }
    try {
      const host = await this.#addressOf(container, "resume");
      const port = Number(labels[LABEL_READY_PORT]);
      if (port > 0) await this.#waitReady(container, host, port, Number(labels[LABEL_READY_TIMEOUT_MS]) || 30_000, "resume");
      const endpoint: Endpoint = { host, ports: {} };
      this.#endpoints.set(handle, endpoint);
      return endpoint;
    } catch (err) {
      throw mapDockerError("resume", err);
    }
  }

  #instance(handle: string, labels: Record<string, string>, state: InstanceState, ip: string | undefined): DriverInstance {
    const endpoint: Endpoint | null = (state === "running" || state === "paused") && ip ? { host: ip, ports: {} } : null;
    if (endpoint) this.#endpoints.set(handle, endpoint);
    return {
      handle,
      sandboxId: (labels[LABEL_SANDBOX_ID] ?? "") as SandboxId,
      nodeId: (labels[LABEL_NODE_ID] ?? "") as NodeId,
      clusterId: (labels[LABEL_CLUSTER_ID] || null) as ClusterId | null,
      incarnation: Number(labels[LABEL_INCARNATION] ?? 0),
      state,
      endpoint,
      ...(labels[LABEL_POOL_MEMBER] ? { poolMember: labels[LABEL_POOL_MEMBER] } : {}),
    };
  }
}
