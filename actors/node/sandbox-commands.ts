/**
 * The commands on an existing sandbox (get, kill, pause, resume, connect,
 * set_timeout, refresh), run inside the sandbox's mailbox. Each decision is
 * taken against the actor's current record at the moment the command's turn
 * comes (`checkCommand`), never against what the API read earlier: a pause
 * queued behind a connect sees the connected sandbox, not the one the API saw.
 * Replies carry only records that were written (`context.persisted`).
 */
import type { CorralConfig } from "../../src/config.js";
import { CapacityExhaustedError, GoneError, NotFoundError, UnavailableError } from "../../src/errors.js";
import type { NodeId, SandboxId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import { applyRefresh, validateTimeoutMs } from "../../src/lifecycle/deadline.js";
import type { NodeSuccess } from "../../src/node-protocol.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { SandboxStore } from "../../src/store/sandbox-store.js";
import { checkCommand, commandEvent, type SandboxCommand } from "../../machines/sandbox/index.js";
import type { CapacityLedger } from "./capacity.js";
import type { Hosting } from "./hosting.js";
import type { DriverCallsAhead } from "./driver-calls-ahead.js";
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
  /** Starts a pause/resume ahead of the machine's transition (./driver-calls-ahead.ts). */
  ahead?: Pick<DriverCallsAhead, "start" | "leftOver">;
  log?: Logger;
}

/** A command on one existing sandbox. */
export type SandboxOpCommand = { op: "get"; sandboxId: SandboxId } | (SandboxCommand & { sandboxId: SandboxId });

/** Validates the config-dependent ranges the schema cannot know. */
function checkRanges(command: SandboxOpCommand, config: CorralConfig): void {
  if ((command.op === "resume" || command.op === "connect") && command.timeoutMs !== undefined) validateTimeoutMs(command.timeoutMs, config);
  if (command.op === "set_timeout") validateTimeoutMs(command.timeoutMs, config, { allowZero: true });
}

/** Answers for a sandbox this node does not host: from the KV (tombstones), else not here. */
async function fromStore(deps: CommandDeps, command: SandboxOpCommand): Promise<NodeSuccess> {
  const record = await deps.store.get(command.sandboxId);
  if (!record) throw new NotFoundError(`sandbox ${command.sandboxId} not found`);
  if (command.op === "get") return { ok: true, record };
  if (record.state === "killed") {
    if (command.op === "kill") return { ok: true, record };
    throw new GoneError(`sandbox ${record.sandboxId} is killed`);
  }
  if (record.nodeId !== deps.nodeId) throw new UnavailableError(`sandbox ${record.sandboxId} is owned by node ${record.nodeId}`);
  throw new UnavailableError(`sandbox ${record.sandboxId} is not hosted by node ${deps.nodeId} right now (reconciling); retry`);
}

/** Runs a command on an existing sandbox and returns the node's reply. */
export async function runSandboxCommand(deps: CommandDeps, command: SandboxOpCommand): Promise<NodeSuccess> {
  checkRanges(command, deps.config);
  const host = deps.hosting.get(command.sandboxId);
  if (!host) return fromStore(deps, command);
  if (command.op === "get") {
    // Reads need no turn in the mailbox: the last acknowledged write is always a valid answer.
    const snapshot = host.snapshot();
    if (!snapshot) return fromStore(deps, command);
    return { ok: true, record: await deps.hosting.persisted(host, snapshot) };
  }
  try {
    return await host.mailbox.post(() => (host.actor ? inTurn(deps, host, command) : fromStore(deps, command)));
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
  const current = before.status === "active" ? before.context.record : await deps.hosting.persisted(host, before);
  const decision = checkCommand(current, command.op);
  const isConnect = command.op === "connect";
  if (decision.kind === "error") throw decision.error;
  // `wait` cannot happen here: settled() returned a stable state. Treat it as a no-op answer, never a guess.
  if (decision.kind !== "proceed" || before.status !== "active") {
    return { ok: true, record: await deps.hosting.persisted(host, before), ...(isConnect ? { resumed: false } : {}) };
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
  // The engine request goes out first; the machine's transition (which adopts the call) runs beside it.
  // Not for a resume that was just admitted: the quota check and the send must stay one synchronous step.
  if (deps.ahead && (event.type === "PAUSE" || (event.type === "RESUME" && !deps.resumeNeedsAdmission))) {
    deps.ahead.start(current, event.type === "PAUSE" ? "pause" : "resume");
    await new Promise((resolve) => setImmediate(resolve));
  }
  deps.hosting.send(host, event);
  const leftOver = deps.ahead?.leftOver(current.sandboxId) ?? null;
  if (leftOver !== null) deps.log?.warn({ sandboxId: current.sandboxId, op: leftOver }, "a driver call started ahead was not taken by the machine");
  const after = await host.settled(deps.settleTimeoutMs);
  const record = await deps.hosting.persisted(host, after);
  if (event.type === "PAUSE" && record.state === "running" && failedNow(record, "pause", since)) {
    throw new UnavailableError(record.error!.message);
  }
  if (event.type === "RESUME" && record.state === "paused" && failedNow(record, "resume", since)) {
    throw new UnavailableError(record.error!.message);
  }
  return { ok: true, record, ...(isConnect ? { resumed: event.type === "RESUME" && record.state === "running" } : {}) };
}
