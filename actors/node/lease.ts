/**
 * The node's lease in `corral_nodes`: registered at start, renewed every
 * `heartbeatMs` (at most a third of `nodeLeaseMs`, so two heartbeats may be
 * lost before the lease lapses), and written early (debounced) when the
 * allocation changes, so the scheduler places the next create on fresh
 * numbers instead of ones up to `heartbeatMs` old. Removed on graceful stop.
 */
import type { DriverKind, PauseMode } from "../../src/drivers/types.js";
import type { NodeId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { NodeRecord, NodeRegistry } from "../../src/store/node-registry.js";
import type { CapacityLedger } from "./capacity.js";

/** What the lease writes. */
export interface LeaseDeps {
  registry: Pick<NodeRegistry, "put" | "remove">;
  nodeId: NodeId;
  version: string;
  address: string | null;
  driver: DriverKind;
  pauseMode: PauseMode;
  ledger: CapacityLedger;
  heartbeatMs: number;
  log: Logger;
}

/** Delay of an early write after an allocation change (coalesces bursts of creates). */
const BUMP_DELAY_MS = 50;

/** Registration and heartbeat of one node. */
export class NodeLease {
  readonly #deps: LeaseDeps;
  readonly startedAt = Date.now();
  #timer: NodeJS.Timeout | null = null;
  #bumpTimer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();
  #stopped = false;
  /** `host:port` of the node's envd endpoint, once it listens (written with the next heartbeat). */
  envd: string | null = null;

  constructor(deps: LeaseDeps) {
    this.#deps = deps;
  }

  /** The record the next heartbeat writes. */
  record(now = Date.now()): NodeRecord {
    const { nodeId, version, address, driver, pauseMode, ledger } = this.#deps;
    return {
      nodeId,
      version,
      address,
      ...(this.envd ? { envd: this.envd } : {}),
      driver,
      pauseMode,
      startedAt: this.startedAt,
      heartbeatAt: now,
      capacity: ledger.capacity,
      allocation: ledger.allocation,
      counts: ledger.counts(),
    };
  }

  /** Registers (first write must succeed) and starts heartbeating. */
  async start(): Promise<void> {
    await this.#deps.registry.put(this.record());
    this.#timer = setInterval(() => void this.#write(), this.#deps.heartbeatMs);
  }

  /** Asks for an early write (allocation changed); coalesced. */
  bump(): void {
    if (this.#stopped || this.#bumpTimer) return;
    this.#bumpTimer = setTimeout(() => {
      this.#bumpTimer = null;
      void this.#write();
    }, BUMP_DELAY_MS);
  }

  /** Stops heartbeating and removes the lease (other nodes see this node gone at once). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#bumpTimer) clearTimeout(this.#bumpTimer);
    this.#timer = this.#bumpTimer = null;
    await this.#writing;
    await this.#deps.registry.remove(this.#deps.nodeId).catch((err: unknown) => this.#deps.log.warn({ err }, "could not remove the node lease"));
  }

  #write(): Promise<void> {
    // Serial: a slow put must not let an older record overwrite a newer one.
    this.#writing = this.#writing.then(async () => {
      if (this.#stopped) return;
      try {
        await this.#deps.registry.put(this.record());
      } catch (err) {
        this.#deps.log.warn({ err: (err as Error).message }, "heartbeat failed");
      }
    });
    return this.#writing;
  }
}
