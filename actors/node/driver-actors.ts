/**
 * The sandbox machine's injected driver actors, bound to this node's driver.
 * The machine stays pure; these are the only places a machine's transition
 * touches the container engine. The machine invokes each one only once the
 * intent of its transition is stored (machines/sandbox/machine.ts).
 *
 * `env` is never part of the record (the KV and events must not carry it):
 * the node hands it over in memory for the one start that needs it
 * (`envFor`), and it is dropped as soon as the start has read it.
 */
import { fromPromise } from "xstate";
import { InternalError } from "../../src/errors.js";
import type { PauseMode, SandboxDriver } from "../../src/drivers/types.js";
import type { ClusterId, NodeId, SandboxId } from "../../src/ids.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import type { TemplateRegistry } from "../../src/templates.js";
import type { WarmClaims } from "./warm/claims.js";
import {
  sandboxMachine,
  type PauseSandboxInput,
  type PauseSandboxOutput,
  type RemoveSandboxInput,
  type ResumeSandboxInput,
  type ResumeSandboxOutput,
  type StartSandboxInput,
  type StartSandboxOutput,
} from "../../machines/sandbox/index.js";

/** What the driver actors need from the node. */
export interface DriverActorDeps {
  driver: SandboxDriver;
  nodeId: NodeId;
  /** Labels every container this node starts (`corral.cluster`). */
  clusterId: ClusterId;
  pauseMode: PauseMode;
  templates: TemplateRegistry;
  /** Takes (and forgets) the env of a sandbox being started. */
  takeEnv: (id: SandboxId) => Record<string, string>;
  /** The warm pool's claims: a start whose create took a member claims it instead (null: no pool). */
  warm?: WarmClaims | null;
}

function handleOf(record: StoredSandbox): string {
  if (!record.internal.handle) throw new InternalError(`sandbox ${record.sandboxId} has no driver handle`);
  return record.internal.handle;
}

/** Sleeps `ms`, resolving early (without error) when the actor is stopped. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

/** The sandbox machine with this node's driver actors provided. */
export function provideDriverActors(deps: DriverActorDeps) {
  const { driver, nodeId, clusterId, pauseMode, templates } = deps;
  return sandboxMachine.provide({
    actors: {
      startSandbox: fromPromise<StartSandboxOutput, StartSandboxInput>(async ({ input }) => {
        const { record } = input;
        const env = deps.takeEnv(record.sandboxId);
        const cold = () =>
          driver.start({
            sandboxId: record.sandboxId,
            nodeId,
            clusterId,
            template: templates.get(record.template),
            env,
            resources: record.resources,
            incarnation: record.internal.incarnation,
          });
        const warm = deps.warm ?? null;
        return warm ? warm.start(record.sandboxId, cold) : cold();
      }),
      pauseSandbox: fromPromise<PauseSandboxOutput | void, PauseSandboxInput>(async ({ input }) => {
        await driver.pause(handleOf(input.record), pauseMode);
        return { endpointKept: driver.keepsEndpointWhenPaused(pauseMode) };
      }),
      resumeSandbox: fromPromise<ResumeSandboxOutput, ResumeSandboxInput>(async ({ input }) => ({
        endpoint: await driver.resume(handleOf(input.record), pauseMode),
      })),
      removeSandbox: fromPromise<void, RemoveSandboxInput>(async ({ input, signal }) => {
        await sleep(input.delayMs, signal);
        if (signal.aborted) return;
        // A start that failed before the driver returned has no handle and left nothing behind.
        if (input.record.internal.handle) await driver.remove(input.record.internal.handle);
      }),
    },
  });
}

/** The provided machine's type. */
export type NodeSandboxMachine = ReturnType<typeof provideDriverActors>;
