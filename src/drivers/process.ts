/**
 * The process driver: each sandbox is a detached process group running the
 * template's `processCommand` (for `base`: busybox httpd on a loopback port).
 * For machines without Docker and for density (10,000 sandboxes per node), so
 * per-sandbox state in the node is one small object plus the ChildProcess, and
 * nothing polls per sandbox: children report their own exit; only processes
 * adopted after a node restart (not our children) are checked, by one 1 s timer.
 *
 * Isolation and limits: none. The process runs as the node's user, with
 * `resources` counted by the node's admission but NOT enforced (no cgroups
 * here); `pause` in either mode is SIGSTOP (memory is kept). See docs/drivers.md.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { SandboxId } from "../ids.js";
import { logger, type Logger } from "../log.js";
import type { Endpoint } from "../schema/record.js";
import { DriverError, type DriverOp } from "./errors.js";
import { PortAllocator } from "./port-allocator.js";
import { childrenOf, formatProcessHandle, holdsSocket, livenessOf, parseProcessHandle, readProcStat, type ProcLiveness } from "./proc.js";
import { deleteSandboxFiles, readAdoptions, sandboxPaths, writeAdoption, type AdoptionRecord } from "./process-adoption.js";
import { waitForTcp } from "./readiness.js";
import { inScope, scopeNodeId, type DriverScope } from "./scope.js";
import type { DriverEvent, DriverInstance, InstanceState, PauseMode, SandboxDriver, SandboxSpec, StartedSandbox } from "./types.js";

/** Options of {@link ProcessDriver}. */
export interface ProcessDriverOptions {
  /** Where sandbox dirs and adoption files live (`<dataDir>/sandboxes/`). Required. */
  dataDir: string;
  /** Replaces argv[0] `busybox` of a template's command. @default "busybox" found on PATH, else /bin/busybox */
  busybox?: string;
  /** Loopback ports handed to sandboxes, inclusive. @default [10000, 32000] */
  portRange?: [number, number];
  /** Period of the liveness check of adopted (non-child) processes. @default 1000 */
  adoptedCheckIntervalMs?: number;
}

/** One sandbox this driver knows: started by it (child) or adopted from an adoption file. */
interface Entry {
  readonly record: AdoptionRecord;
  /** Null for a process adopted after a restart (its parent was the previous node process). */
  readonly child: ChildProcess | null;
  exited: boolean;
  /** False until start resolved: the exit of a failed start attempt is the start's error, not an event. */
  started: boolean;
}

/** Starts beyond the first retry a start whose process died before ready (a port taken in between). */
const START_ATTEMPTS = 3;
/** How long remove lets the leader reap its killed children before killing the group. */
const REAP_WAIT_MS = 200;
/** Adopted processes whose /proc entry is read per tick (rotating), bounding the timer's cost at scale. */
const ADOPTED_CHECKS_PER_TICK = 500;

function resolveBusybox(): string {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && fs.existsSync(path.join(dir, "busybox"))) return path.join(dir, "busybox");
  }
  return "/bin/busybox";
}

const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The process implementation of {@link SandboxDriver}. */
export class ProcessDriver implements SandboxDriver {
  readonly kind = "process" as const;
  readonly #dataDir: string;
  readonly #busybox: string;
  readonly #ports: PortAllocator;
  readonly #adoptedCheckIntervalMs: number;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  /** Handles of live adopted processes: the only ones the timer looks at. */
  readonly #adopted = new Set<string>();
  readonly #watchers = new Set<{ scope: DriverScope; onEvent: (event: DriverEvent) => void }>();
  #timer: NodeJS.Timeout | null = null;
  #adoptedCursor: string[] = [];

  constructor(options: ProcessDriverOptions) {
    this.#dataDir = options.dataDir;
    this.#busybox = options.busybox ?? resolveBusybox();
    this.#ports = new PortAllocator(options.portRange);
    this.#adoptedCheckIntervalMs = options.adoptedCheckIntervalMs ?? 1_000;
    this.#log = logger("driver.process");
  }

  async start(spec: SandboxSpec): Promise<StartedSandbox> {
    const command = spec.template.processCommand;
    if (!command) throw new DriverError("start", "engine", `template ${spec.template.name} has no processCommand (process driver)`);
    const paths = sandboxPaths(this.#dataDir, spec);
    await mkdir(path.join(paths.dir, "www"), { recursive: true });
    await writeFile(path.join(paths.dir, "www", "id"), spec.sandboxId);
    for (let attempt = 1; ; attempt++) {
      const port = await this.#ports.allocate();
      let entry: Entry | null = null;
      try {
        entry = await this.#spawn(spec, command, paths.dir, port);
        await writeAdoption(paths.adoptionFile, entry.record);
        await waitForTcp("127.0.0.1", port, {
          op: "start",
          timeoutMs: spec.template.readyTimeoutMs,
          checkEveryMs: 10,
          check: () => {
            if (entry?.exited) throw new DriverError("start", "exited", `main process exited (code ${entry.child?.exitCode ?? "?"}) before port ${spec.template.readyPort} was ready`);
          },
        });
        if (entry.exited || !holdsSocket(entry.record.pid)) {
          // Another program bound the port between our probe and the sandbox's bind: try a fresh one.
          throw new DriverError("start", "exited", `port ${port} is served by a process that is not this sandbox's`);
        }
        entry.started = true;
        const handle = formatProcessHandle(entry.record.pid, entry.record.startTime);
        return { handle, endpoint: this.#endpointOf(entry.record) };
      } catch (err) {
        if (entry) {
          await this.#kill(entry);
          this.#entries.delete(formatProcessHandle(entry.record.pid, entry.record.startTime));
        }
        this.#ports.release(port);
        const retry = err instanceof DriverError && err.reason === "exited" && attempt < START_ATTEMPTS;
        if (!retry) {
          await deleteSandboxFiles(paths);
          throw err instanceof DriverError ? err : new DriverError("start", "engine", (err as Error).message, { cause: err });
        }
      }
    }
  }

  keepsEndpointWhenPaused(_mode: PauseMode): boolean {
    return true; // both modes freeze (below)
  }

  async pause(handle: string, _mode: PauseMode): Promise<void> {
    // Both modes freeze: without cgroups there is no way to release a process's memory and keep it resumable.
    const entry = await this.#live(handle, "pause");
    this.#signal(entry, "SIGSTOP", "pause");
    await this.#until(entry.record, (l) => l !== "running", "pause");
  }

  async resume(handle: string, _mode: PauseMode): Promise<Endpoint> {
    const entry = await this.#live(handle, "resume");
    this.#signal(entry, "SIGCONT", "resume");
    await this.#until(entry.record, (l) => l !== "stopped", "resume");
    return this.#endpointOf(entry.record);
  }

  async remove(handle: string): Promise<void> {
    const entry = this.#entries.get(handle) ?? (await this.#find(handle));
    if (!entry) return;
    await this.#kill(entry);
    await deleteSandboxFiles(sandboxPaths(this.#dataDir, entry.record));
    this.#ports.release(entry.record.port);
    this.#entries.delete(handle);
    this.#adopted.delete(handle);
  }

  async inspect(handle: string): Promise<DriverInstance | null> {
    const entry = this.#entries.get(handle) ?? (await this.#find(handle));
    return entry ? this.#instance(entry) : null;
  }

  async list(scope: DriverScope): Promise<DriverInstance[]> {
    const records = await readAdoptions(this.#dataDir, (file, err) => this.#log.warn({ err, file }, "ignoring invalid adoption file"));
    const nodeId = scopeNodeId(scope);
    return records.filter((r) => r.nodeId === nodeId && inScope(scope, r.clusterId)).map((r) => this.#instance(this.#adopt(r)));
  }

  watch(scope: DriverScope, onEvent: (event: DriverEvent) => void): () => void {
    const watcher = { scope, onEvent };
    this.#watchers.add(watcher);
    this.#timer ??= setInterval(() => this.#checkAdopted(), this.#adoptedCheckIntervalMs).unref();
    return () => {
      this.#watchers.delete(watcher);
      if (this.#watchers.size === 0 && this.#timer) {
        clearInterval(this.#timer);
        this.#timer = null;
      }
    };
  }

  /** Stops the timer and forgets watchers. Sandboxes keep running: they outlive the node process. */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#watchers.clear();
  }

  async #spawn(spec: SandboxSpec, command: string[], dir: string, port: number): Promise<Entry> {
    const argv = command.map((arg) => arg.replaceAll("{port}", String(port)).replaceAll("{dir}", dir));
    if (argv[0] === "busybox") argv[0] = this.#busybox;
    // PATH is inherited unless the sandbox's env sets one: a command without PATH cannot find its tools.
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...spec.env, CORRAL_SANDBOX_ID: spec.sandboxId };
    // detached: setsid, so the sandbox is its own process group (signals reach its children) and survives the node.
    const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: "ignore", env, cwd: dir });
    await new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", (err) => reject(new DriverError("start", "engine", `cannot run ${argv[0]}: ${err.message}`, { cause: err })));
    });
    child.unref();
    const pid = child.pid!;
    const stat = readProcStat(pid);
    if (!stat) throw new DriverError("start", "exited", `main process ${pid} exited at once`);
    const record: AdoptionRecord = {
      sandboxId: spec.sandboxId,
      nodeId: spec.nodeId,
      clusterId: spec.clusterId,
      incarnation: spec.incarnation,
      pid,
      startTime: stat.startTime,
      port,
      readyPort: spec.template.readyPort,
    };
    const entry: Entry = { record, child, exited: false, started: false };
    const handle = formatProcessHandle(pid, stat.startTime);
    this.#entries.set(handle, entry);
    // libuv reaps the child (no zombie); this listener only reports the exit.
    child.once("exit", () => {
      entry.exited = true;
      this.#emit(entry, handle);
    });
    return entry;
  }

  /**
   * SIGKILLs the group (never a reused pid) and waits until the leader is gone
   * or a zombie. The leader's own children are killed first and left for the
   * leader to reap: killed together with it they would be re-parented to PID 1,
   * and not every PID 1 reaps (this machine's does not), leaving zombies.
   */
  async #kill(entry: Entry): Promise<void> {
    const { pid, startTime } = entry.record;
    if (entry.child ? entry.exited : livenessOf(pid, startTime) === "gone") return;
    const exited = entry.child ? new Promise<void>((resolve) => entry.child!.once("exit", () => resolve())) : null;
    await this.#killChildrenFirst(entry);
    this.#signal(entry, "SIGKILL", "remove");
    if (exited) await exited;
    else await this.#until(entry.record, (l) => l === "gone" || l === "zombie", "remove");
  }

  /** Kills the leader's children (e.g. httpd's per-request handlers) and waits, briefly, for the leader to reap them. */
  async #killChildrenFirst(entry: Entry): Promise<void> {
    const { pid } = entry.record;
    let children = childrenOf(pid);
    if (children.length === 0) return; // the common case: one procfs read
    // A frozen leader cannot reap: thaw the group first.
    this.#signal(entry, "SIGCONT", "remove");
    for (const child of children) {
      try {
        process.kill(child, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    const deadline = Date.now() + REAP_WAIT_MS;
    while ((children = childrenOf(pid)).length > 0 && Date.now() < deadline) await delay(1);
  }

  /** Sends a signal to the sandbox's process group; ESRCH means it vanished. */
  #signal(entry: Entry, signal: NodeJS.Signals, op: DriverOp): void {
    try {
      process.kill(-entry.record.pid, signal);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ESRCH") {
        if (op === "remove") return;
        throw new DriverError(op, "vanished", `process ${entry.record.pid} is gone`, { cause: err });
      }
      throw new DriverError(op, "engine", `${signal} to process group ${entry.record.pid}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Polls /proc (cheap, local) until `done` holds; signals land within microseconds, so this rarely loops. */
  async #until(record: AdoptionRecord, done: (l: ProcLiveness) => boolean, op: DriverOp, timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let l = livenessOf(record.pid, record.startTime); !done(l); l = livenessOf(record.pid, record.startTime)) {
      if (Date.now() > deadline) throw new DriverError(op, "timeout", `process ${record.pid} still ${l} after ${timeoutMs} ms`);
      await delay(1);
    }
  }

  /** The entry of a handle whose process is alive; throws `vanished` otherwise. */
  async #live(handle: string, op: DriverOp): Promise<Entry> {
    const entry = this.#entries.get(handle) ?? (await this.#find(handle));
    if (!entry) throw new DriverError(op, "vanished", `no sandbox process ${handle}`);
    // Our own child: its exit flag is authoritative and free. Adopted: /proc, start time included.
    const alive = entry.child ? !entry.exited : ["running", "stopped"].includes(livenessOf(entry.record.pid, entry.record.startTime));
    if (!alive) throw new DriverError(op, "vanished", `process ${entry.record.pid} has exited`);
    return entry;
  }

  /** Slow path (handle unknown to this driver instance): scan the adoption files. */
  async #find(handle: string): Promise<Entry | null> {
    const parsed = parseProcessHandle(handle);
    if (!parsed) return null;
    const records = await readAdoptions(this.#dataDir, () => {});
    const record = records.find((r) => r.pid === parsed.pid && r.startTime === parsed.startTime);
    return record ? this.#adopt(record) : null;
  }

  /** Registers a record found on disk; a live process that is not our child is watched by the timer. */
  #adopt(record: AdoptionRecord): Entry {
    const handle = formatProcessHandle(record.pid, record.startTime);
    const known = this.#entries.get(handle);
    if (known) return known;
    const liveness = livenessOf(record.pid, record.startTime);
    const entry: Entry = { record, child: null, exited: liveness === "gone" || liveness === "zombie", started: true };
    this.#entries.set(handle, entry);
    this.#ports.hold(record.port);
    if (!entry.exited) this.#adopted.add(handle);
    return entry;
  }

  #instance(entry: Entry): DriverInstance {
    const { record } = entry;
    let state: InstanceState;
    if (entry.child && entry.exited) state = "exited";
    else {
      const liveness = livenessOf(record.pid, record.startTime);
      state = liveness === "running" ? "running" : liveness === "stopped" ? "paused" : liveness === "zombie" ? "exited" : "missing";
    }
    return {
      handle: formatProcessHandle(record.pid, record.startTime),
      sandboxId: record.sandboxId as SandboxId,
      nodeId: record.nodeId,
      clusterId: record.clusterId ?? null,
      incarnation: record.incarnation,
      state,
      endpoint: state === "running" || state === "paused" ? this.#endpointOf(record) : null,
    };
  }

  #endpointOf(record: AdoptionRecord): Endpoint {
    return { host: "127.0.0.1", ports: { [String(record.readyPort)]: record.port } };
  }

  #emit(entry: Entry, handle: string): void {
    if (!entry.started) return;
    const event: DriverEvent = { type: "exited", sandboxId: entry.record.sandboxId as SandboxId, handle, at: Date.now() };
    for (const w of this.#watchers) {
      if (scopeNodeId(w.scope) !== entry.record.nodeId || !inScope(w.scope, entry.record.clusterId)) continue;
      try {
        w.onEvent(event);
      } catch (err) {
        this.#log.error({ err, sandboxId: event.sandboxId }, "driver event callback threw");
      }
    }
  }

  /** The one timer: liveness of adopted processes, a bounded rotating window per tick. */
  #checkAdopted(): void {
    if (this.#adoptedCursor.length === 0) this.#adoptedCursor = [...this.#adopted];
    for (const handle of this.#adoptedCursor.splice(0, ADOPTED_CHECKS_PER_TICK)) {
      const entry = this.#entries.get(handle);
      if (!entry || !this.#adopted.has(handle)) continue;
      const liveness = livenessOf(entry.record.pid, entry.record.startTime);
      if (liveness === "gone" || liveness === "zombie") {
        entry.exited = true;
        this.#adopted.delete(handle);
        this.#emit(entry, handle);
      }
    }
  }
}
