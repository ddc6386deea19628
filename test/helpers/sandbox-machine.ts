/**
 * A harness for the sandbox machine: fake driver actors whose outcome each
 * test decides (every invocation is a call the test resolves or rejects), and
 * a fake writer that records every write and acknowledges it with the next
 * revision, as the node's KV writer would. Pure and in-process: no NATS, no
 * Docker. Time comes from `Date.now`, so `vi.useFakeTimers()` controls it.
 */
import { afterEach, beforeEach, vi } from "vitest";
import { createActor, fromCallback, fromPromise, waitFor, type Actor, type AnyActorRef, type SnapshotFrom } from "xstate";
import type { DeadlineLimits } from "../../src/lifecycle/deadline.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { sandboxMachine, type SandboxMachine } from "../../machines/sandbox/machine.js";
import { restoreSnapshot } from "../../machines/sandbox/restore.js";
import type {
  PauseSandboxInput,
  PauseSandboxOutput,
  RemoveSandboxInput,
  ResumeSandboxInput,
  ResumeSandboxOutput,
  StartSandboxInput,
  StartSandboxOutput,
  WriteRequest,
} from "../../machines/sandbox/types.js";
import { makeStoredSandbox, type StoredSandboxOverrides } from "./records.js";

/** Limits of the tests: the contract's defaults. */
export const LIMITS: DeadlineLimits = { defaultTimeoutMs: 300_000, maxTimeoutMs: 86_400_000, maxLifetimeMs: 86_400_000 };

/** What a fake driver returns on success. */
export const START_OUTPUT: StartSandboxOutput = { handle: "container-1", endpoint: { host: "172.17.0.9", ports: {} } };
export const RESUME_OUTPUT = { endpoint: { host: "172.17.0.10", ports: {} } };

export type DriverOp = "start" | "pause" | "resume" | "remove";

/** One invocation of a fake driver actor, waiting for the test to decide its outcome. */
export interface DriverCall {
  op: DriverOp;
  input: { record: StoredSandbox; delayMs?: number };
  resolve(output?: unknown): void;
  reject(error: unknown): void;
}

/** A freshly created record as the node writes it before starting the actor. */
export function startingRecord(overrides: StoredSandboxOverrides = {}): StoredSandbox {
  return makeStoredSandbox({ state: "starting", startedAt: null, endAt: null, lastActiveAt: null, revision: 1, createdAt: Date.now(), ...overrides });
}

export interface Harness {
  actor: Actor<SandboxMachine>;
  /** Every write the machine sent, in order. */
  writes: WriteRequest[];
  /** The next (not yet taken) invocation of `op`, waiting for it if needed. */
  call(op: DriverOp): Promise<DriverCall>;
  /** Invocations of `op` so far (taken or not). */
  callCount(op: DriverOp): number;
  /** Waits until the snapshot satisfies `predicate`. */
  until(predicate: (s: SnapshotFrom<SandboxMachine>) => boolean): Promise<SnapshotFrom<SandboxMachine>>;
  /** Waits for `state` with no write in flight (the machine enters a state when its write is acknowledged). */
  settled(state: string): Promise<SnapshotFrom<SandboxMachine>>;
  stop(): void;
}

export interface HarnessOptions {
  /** Restore from this stable record instead of starting from `starting`. */
  restore?: boolean;
  /** Acknowledge writes (default true). */
  ack?: boolean;
  backoff?: { baseMs: number; maxMs: number };
}

/** Builds and starts an actor of the real machine with fake driver actors and a fake writer. */
export function createHarness(record: StoredSandbox, options: HarnessOptions = {}): Harness {
  const writes: WriteRequest[] = [];
  const queues: Record<DriverOp, DriverCall[]> = { start: [], pause: [], resume: [], remove: [] };
  const counts: Record<DriverOp, number> = { start: 0, pause: 0, resume: 0, remove: 0 };
  const waiters: Partial<Record<DriverOp, (call: DriverCall) => void>> = {};
  let revision = record.revision;

  const fake = <TOutput, TInput extends DriverCall["input"]>(op: DriverOp) =>
    fromPromise<TOutput, TInput>(
      ({ input }) =>
        new Promise<TOutput>((resolve, reject) => {
          const call: DriverCall = { op, input, resolve: resolve as (o?: unknown) => void, reject };
          counts[op]++;
          const waiter = waiters[op];
          if (waiter) {
            delete waiters[op];
            waiter(call);
          } else queues[op].push(call);
        }),
    );

  const writer = createActor(
    fromCallback<WriteRequest>(({ receive }) => {
      receive((write) => {
        writes.push(write);
        if (options.ack === false) return;
        const stored = { ...write.record, revision: ++revision };
        // Answer asynchronously, as a KV round trip would; a done actor (killed) takes no more events.
        void Promise.resolve().then(() => {
          if (write.replyTo.getSnapshot().status === "active") write.replyTo.send({ type: "persisted", record: stored });
        });
      });
    }),
  ).start();

  const machine = sandboxMachine.provide({
    actors: {
      startSandbox: fake<StartSandboxOutput, StartSandboxInput>("start"),
      pauseSandbox: fake<PauseSandboxOutput | void, PauseSandboxInput>("pause"),
      resumeSandbox: fake<ResumeSandboxOutput, ResumeSandboxInput>("resume"),
      removeSandbox: fake<void, RemoveSandboxInput>("remove"),
    },
  });
  const input = { writer: writer as AnyActorRef, limits: LIMITS, now: () => Date.now(), backoff: options.backoff };
  const actor = options.restore
    ? createActor(machine, { snapshot: restoreSnapshot(record, input, machine), input: { ...input, record } })
    : createActor(machine, { input: { ...input, record } });
  actor.start();

  return {
    actor,
    writes,
    call: (op) => {
      const queued = queues[op].shift();
      if (queued) return Promise.resolve(queued);
      return new Promise((resolve) => (waiters[op] = resolve));
    },
    callCount: (op) => counts[op],
    until: (predicate) => waitFor(actor, predicate),
    settled: (state) => waitFor(actor, (s) => s.value === state && (s.status === "done" || s.context.writing === null)),
    stop: () => {
      actor.stop();
      writer.stop();
    },
  };
}

/**
 * Registers, for the calling test file, fake timers at `now` before each test
 * and, after each, the stop of every harness passed to the returned tracker.
 */
export function useHarnesses(now: number): (h: Harness) => Harness {
  const harnesses: Harness[] = [];
  beforeEach(() => {
    vi.useFakeTimers({ now });
  });
  afterEach(() => {
    for (const h of harnesses.splice(0)) h.stop();
    vi.useRealTimers();
  });
  return (h) => {
    harnesses.push(h);
    return h;
  };
}
