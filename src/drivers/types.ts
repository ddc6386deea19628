/**
 * The one interface between a node actor and a container engine. Drivers are
 * stateless translators: the node actor decides, the driver acts. Every method
 * maps engine errors to `DriverError` (see `drivers/errors.ts`) in one place.
 *
 * Concurrency contract: the node serializes operations per sandbox, so a
 * driver never sees two concurrent operations on one handle; operations on
 * different handles run concurrently.
 */
import type { ClusterId, NodeId, SandboxId } from "../ids.js";
import type { Endpoint, Resources } from "../schema/record.js";
import type { Template } from "../templates.js";
import type { DriverScope } from "./scope.js";

export type { DriverScope } from "./scope.js";

export type DriverKind = "docker" | "process";

/**
 * How a paused sandbox is held. `freeze` (default): cgroup freezer / SIGSTOP,
 * memory kept, resume in milliseconds. `stop`: the process is stopped, memory
 * released, filesystem kept; its quota is released while paused.
 */
export type PauseMode = "freeze" | "stop";

export interface SandboxSpec {
  sandboxId: SandboxId;
  nodeId: NodeId;
  /** The node's cluster; labels the container (`corral.cluster`) and is kept in the process driver's state. */
  clusterId: ClusterId;
  template: Template;
  /** Passed to the sandbox's processes, plus `CORRAL_SANDBOX_ID`. */
  env: Record<string, string>;
  resources: Resources;
  /** Incarnation of the id (a key reused after a kill); labels the container. */
  incarnation: number;
  /** Set for a warm-pool member (then `sandboxId` is the member's id): labels the container `corral.pool-member`. */
  poolMember?: string;
  /**
   * A host file bind-mounted at `path` in the container (docker driver): a
   * warm member's id file, so a claim writes the new id on the host instead
   * of copying into the container.
   */
  bindFile?: { hostPath: string; path: string };
}

export interface StartedSandbox {
  /** Opaque driver handle (container id; `pid:<pid>:<starttime>` for processes). */
  handle: string;
  endpoint: Endpoint;
}

/** What the engine says about one sandbox's container or process. */
export type InstanceState = "created" | "running" | "paused" | "stopped" | "exited" | "missing";

export interface DriverInstance {
  handle: string;
  sandboxId: SandboxId;
  nodeId: NodeId;
  /** Null for a container made before cluster ids (no `corral.cluster` label). */
  clusterId: ClusterId | null;
  incarnation: number;
  state: InstanceState;
  /** Null unless running or paused. */
  endpoint: Endpoint | null;
  /** The `corral.pool-member` label: the container was made as a warm-pool member (claimed or not). */
  poolMember?: string;
}

/** A container/process that ended or vanished without the node asking. */
export interface DriverEvent {
  type: "exited" | "removed";
  sandboxId: SandboxId;
  handle: string;
  at: number;
  /** The `corral.pool-member` label (then `sandboxId` is the member's id, also once claimed). */
  poolMember?: string;
}

export interface SandboxDriver {
  readonly kind: DriverKind;
  /**
   * Creates and starts the sandbox and resolves once its template's ready
   * port accepts TCP connections (bounded by `template.readyTimeoutMs`). On
   * failure nothing is left behind (the half-made container is removed).
   */
  start(spec: SandboxSpec): Promise<StartedSandbox>;
  pause(handle: string, mode: PauseMode): Promise<void>;
  /**
   * Whether a sandbox paused in `mode` keeps its address (so a connection
   * made to it while paused reaches it once resumed): true for a freeze; false
   * for a stopped container, whose address the engine may reuse meanwhile.
   */
  keepsEndpointWhenPaused(mode: PauseMode): boolean;
  /** Resolves with the endpoint, which may change after a `stop`-mode pause. */
  resume(handle: string, mode: PauseMode): Promise<Endpoint>;
  /** Idempotent: a handle that is already gone resolves. */
  remove(handle: string): Promise<void>;
  /** Null when the engine has no such container/process. */
  inspect(handle: string): Promise<DriverInstance | null>;
  /** Every sandbox of the scope (by label / adoption file); see {@link DriverScope}. */
  list(scope: DriverScope): Promise<DriverInstance[]>;
  /**
   * Watches for sandboxes of the scope that exit or vanish behind Corral's back.
   * Removals the node itself asked for are also reported; the node ignores
   * events for sandboxes it is killing. Returns a stop function.
   */
  watch(scope: DriverScope, onEvent: (event: DriverEvent) => void): () => void;
  /** Releases engine connections / timers. */
  close(): Promise<void>;
}
