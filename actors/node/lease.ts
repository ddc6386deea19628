/**
 * The node's lease in `corral_nodes`: registered at start, renewed every
 * `heartbeatMs` (at most a third of `nodeLeaseMs`, so two heartbeats may be
 * lost before the lease lapses), and written early (debounced) when the
 * allocation changes, so the scheduler places the next create on fresh
 * numbers instead of ones up to `heartbeatMs` old.
 *
 * A graceful stop does not remove it: the last write marks it `stopping`
 * (`stoppingAt`), so live nodes keep its sandboxes for the stop grace and a
 * restart re-adopts them. The drain flag (`corral drain`) is part of the
 * record and survives a restart: a new start reads it from the last record.
 */
import type { DriverKind, PauseMode } from "../../src/drivers/types.js";
import type { NodeId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { untilAvailable } from "../../src/nats/wait.js";
import type { NodeRecord, NodeRegistry } from "../../src/store/node-registry.js";
import type { CapacityLedger } from "./capacity.js";

/** What the lease writes. */
export interface LeaseDeps {
  registry: Pick<NodeRegistry, "put" | "last">;
  nodeId: NodeId;
  version: string;
  address: string | null;
  driver: DriverKind;
  pauseMode: PauseMode;
  ledger: CapacityLedger;
  /** Ready warm members per pooled template (null: the node keeps no pool). */
  warm?: () => Record<string, number> | null;
  /** Warm members being started (evictable, as ready ones are). */
  warmStarting?: () => number;
  heartbeatMs: number;
  log: Logger;
  /** Before each write (the fence checks for a lapse). */
  beforeWrite?: () => void;
  /** A write stamped `heartbeatAt` was acknowledged. */
  onRenewed?: (heartbeatAt: number) => void;
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
  #drain = false;
  #stoppingAt: number | undefined;
  /** `host:port` of the node's envd endpoint, once it listens (written with the next heartbeat). */
  envd: string | null = null;

  constructor(deps: LeaseDeps) {
    this.#deps = deps;
  }

  /** The record the next heartbeat writes. */
  record(now = Date.now()): NodeRecord {
    const { nodeId, version, address, driver, pauseMode, ledger } = this.#deps;
    const warm = this.#deps.warm?.() ?? null;
    const warmStarting = this.#deps.warmStarting?.() ?? 0;
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
      ...(warm ? { warm } : {}),
      ...(warmStarting > 0 ? { warmStarting } : {}),
      ...(this.#drain ? { drain: true } : {}),
      ...(this.#stoppingAt === undefined ? {} : { stoppingAt: this.#stoppingAt }),
    };
  }

  /** Whether the node is draining (admits no new sandbox). */
  get draining(): boolean {
    return this.#drain;
  }

  /** Sets or clears the drain flag and writes it now; resolves with the record as written. */
  async setDrain(drain: boolean): Promise<NodeRecord> {
    this.#drain = drain;
    const record = this.record();
    await this.#deps.registry.put(record);
    this.#deps.log.info({ drain }, drain ? "draining: admitting no new sandbox" : "drain undone: admitting again");
    return record;
  }

  /**
   * Registers (the first write must succeed: while the store is not ready,
   * e.g. a just-created replicated bucket still electing its leader, it is
   * retried with backoff and a log line instead of failing the start) and
   * starts heartbeating.
   */
  async start(): Promise<void> {
    const { registry, nodeId, log } = this.#deps;
    const first = await untilAvailable(
      "register the node lease",
      async () => {
        this.#drain = (await registry.last(nodeId))?.drain === true;
        const record = this.record();
        await registry.put(record);
        return record;
      },
      log,
    );
    this.#deps.onRenewed?.(first.heartbeatAt);
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

  /** Stops heartbeating and marks the lease `stopping` (its sandboxes are kept for the stop grace). */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#bumpTimer) clearTimeout(this.#bumpTimer);
    this.#timer = this.#bumpTimer = null;
    await this.#writing;
    this.#stoppingAt = Date.now();
    await this.#deps.registry
      .put(this.record(this.#stoppingAt))
      .catch((err: unknown) => this.#deps.log.warn({ err }, "could not mark the node lease stopping"));
  }

  #write(): Promise<void> {
    // Serial: a slow put must not let an older record overwrite a newer one.
    this.#writing = this.#writing.then(async () => {
      if (this.#stopped) return;
      this.#deps.beforeWrite?.();
      const record = this.record();
      try {
        await this.#deps.registry.put(record);
        this.#deps.onRenewed?.(record.heartbeatAt);
      } catch (err) {
        this.#deps.log.warn({ err: (err as Error).message }, "heartbeat failed");
      }
    });
    return this.#writing;
  }
}
