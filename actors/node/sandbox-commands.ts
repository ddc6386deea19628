/**
 * The commands on an existing sandbox (get, kill, pause, resume, connect,
 * set_timeout, refresh), run inside the sandbox's mailbox. Each decision is
 * taken against the actor's current record at the moment the command's turn
 * comes (`checkCommand`), never against what the API read earlier: a pause
 * queued behind a connect sees the connected sandbox, not the one the API saw.
 * Replies carry only records that were written (`context.persisted`); a
 * command whose write did not land answers `unavailable` (the machine did
 * not move), never a success with the old record.
 */
import type { CorralConfig } from "../../src/config.js";
import { throwIfDeadlinePassed } from "../../src/deadline-header.js";
import { CapacityExhaustedError, GoneError, NotFoundError, UnavailableError } from "../../src/errors.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { applyRefresh, validateTimeoutMs } from "../../src/lifecycle/deadline.js";
import type { NodeSuccess } from "../../src/node-protocol.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { checkCommand, commandEvent, errorMessage, type SandboxCommand } from "../../machines/sandbox/index.js";
import type { CapacityLedger } from "./capacity.js";
import type { Hosting } from "./hosting.js";
import type { SandboxHost } from "./sandbox-host.js";

/** What the command handlers need from the node. */
export interface CommandDeps {
  nodeId: NodeId;
  store: Pick<SandboxStore, "get" | "createIfAbsent" | "mutate">;
  config: CorralConfig;
  hosting: Hosting;
  ledger: CapacityLedger;
  /** Whether a resume must pass admission (quota released while paused: `stop` mode). */
  resumeNeedsAdmission: boolean;
  /** Bound on waiting for a sandbox to settle; below the API's request timeout. */
  settleTimeoutMs: number;
  /**
   * Settles a live record of this node that is not hosted (its outcome write
   * failed, or a reconciliation is due) and hosts it: true once it is hosted.
   */
  adopt?: (record: StoredSandbox) => Promise<boolean>;
  log?: Logger;
}

/** A command on one existing sandbox. */
export type SandboxOpCommand = { op: "get"; sandboxId: SandboxId } | (SandboxCommand & { sandboxId: SandboxId });

/** Validates the config-dependent ranges the schema cannot know. */
function checkRanges(command: SandboxOpCommand, config: CorralConfig): void {
  if ((command.op === "resume" || command.op === "connect") && command.timeoutMs !== undefined) validateTimeoutMs(command.timeoutMs, config);
  if (command.op === "set_timeout") validateTimeoutMs(command.timeoutMs, config, { allowZero: true });
}

/**
 * Answers for a sandbox this node does not host: from the KV (tombstones);
 * a live record of this node is settled against its container and hosted
 * first (`adopt`), so that e.g. `kill` works on it at once, then the command
 * runs on it as usual.
 */
async function fromStore(deps: CommandDeps, command: SandboxOpCommand, adopted = false): Promise<NodeSuccess> {
  const record = await deps.store.get(command.sandboxId);
  if (!record) throw new NotFoundError(`sandbox ${command.sandboxId} not found`);
  if (command.op === "get") return { ok: true, record };
  if (record.state === "killed") {
    if (command.op === "kill") return { ok: true, record };
    throw new GoneError(`sandbox ${record.sandboxId} is killed`);
  }
  if (record.nodeId !== deps.nodeId) throw new UnavailableError(`sandbox ${record.sandboxId} is owned by node ${record.nodeId}`);
  if (!adopted && deps.adopt) {
    // Settled now: hosted again (the command runs on its actor), or killed (answered from the tombstone).
    await deps.adopt(record);
    return runSandboxCommand(deps, command, true);
  }
  throw new UnavailableError(`sandbox ${record.sandboxId} is not hosted by node ${deps.nodeId} right now (reconciling); retry`);
}

/** Runs a command on an existing sandbox and returns the node's reply. */
export async function runSandboxCommand(deps: CommandDeps, command: SandboxOpCommand, adopted = false): Promise<NodeSuccess> {
  checkRanges(command, deps.config);
  const host = deps.hosting.get(command.sandboxId);
  if (!host) return fromStore(deps, command, adopted);
  if (command.op === "get") {
    // Reads need no turn in the mailbox: the last acknowledged write is always a valid answer.
    const snapshot = host.snapshot();
    if (!snapshot) return fromStore(deps, command, adopted);
    return { ok: true, record: deps.hosting.persisted(snapshot) };
  }
  try {
    return await host.mailbox.post(() => {
      // Its turn may come after its caller has gone (queued behind a kill or a pause): then it does nothing.
      throwIfDeadlinePassed(`${command.op} ${command.sandboxId}`);
      return host.actor ? inTurn(deps, host, command) : fromStore(deps, command, adopted);
    });
  } finally {
    deps.hosting.release(host);
  }
}

/** True when a failure of `op` was recorded by this command's attempt (not an older one). */
function failedNow(record: StoredSandbox, op: string, since: number): boolean {
  return record.error !== null && record.error.op === op && record.error.at >= since;
}

async function inTurn(deps: CommandDeps, host: SandboxHost, command: SandboxCommand & { sandboxId: SandboxId }): Promise<NodeSuccess> {
  const since = Date.now();
  const before = await host.settled(deps.settleTimeoutMs);
  const current = before.status === "active" ? before.context.record : before.context.persisted;
  const decision = checkCommand(current, command.op);
  const isConnect = command.op === "connect";
  if (decision.kind === "error") throw decision.error;
  // `wait` cannot happen here: settled() returned a stable state. Treat it as a no-op answer, never a guess.
  if (decision.kind !== "proceed" || before.status !== "active") {
    return { ok: true, record: before.context.persisted, ...(isConnect ? { resumed: false } : {}) };
  }

  const event = commandEvent(current, command);
  if (event.type === "RESUME" && deps.resumeNeedsAdmission) {
    // Check and send in one synchronous step: the resuming state takes the quota before anyone else can.
    const short = deps.ledger.shortfall(current.resources);
    if (short) throw new CapacityExhaustedError(`node ${deps.nodeId} cannot resume sandbox ${current.sandboxId}: ${short}`);
  }
  if (event.type === "REFRESH" && isConnect) {
    // connect on a running sandbox only extends: no write when it would not move the deadline.
    const extended = applyRefresh(current, event.durationMs, Date.now(), deps.config);
    if (extended.endAt === current.endAt) return { ok: true, record: before.context.persisted, resumed: false };
  }
  deps.hosting.send(host, event);
  const after = await host.settled(deps.settleTimeoutMs);
  if (after.context.failedWrites > before.context.failedWrites) {
    // The machine stayed where its record is: nothing this command asked for happened.
    const cause = after.context.persistError;
    throw new UnavailableError(`sandbox ${current.sandboxId}: the ${command.op} could not be stored (${errorMessage(cause)}); retry`, { cause });
  }
  const record = after.context.persisted;
  if (event.type === "PAUSE" && record.state === "running" && failedNow(record, "pause", since)) {
    throw new UnavailableError(record.error!.message);
  }
  if (event.type === "RESUME" && record.state === "paused" && failedNow(record, "resume", since)) {
    throw new UnavailableError(record.error!.message);
  }
  return { ok: true, record, ...(isConnect ? { resumed: event.type === "RESUME" && record.state === "running" } : {}) };
}
