/**
 * The contract's floor for a node: the least any node that keeps Corral's
 * contract must do around a docker pause or unpause, written with the raw
 * libraries (nats.js, dockerode; no xstate, no schema, no Corral code) in its
 * own process, as a node is:
 *
 *   request in -> intent CAS write, acknowledged -> engine call ->
 *   outcome CAS write + its event -> reply.
 *
 * The order is the contract's write-ahead one (docs/lifecycle.md): the engine
 * is called only once the intent is stored, so the intent's round trip is on
 * the path, as it is on Corral's; nothing runs beside the engine call. The
 * intent's event is published once the intent is stored, as Corral's is.
 *
 * The records and events are opaque bytes of a real record's size, in a
 * bucket made like `corral_sandboxes`. Corral over this floor is Corral's own
 * cost; the floor over raw docker is what the contract's NATS round trips
 * cost on the machine. The node suite compares pause and resume with it; the
 * proxy suite's cold-path floor (proxy-floor.ts) asks it to resume.
 *
 * This file is both the floor process (`floorMain`, run through
 * bench/lib/child.mjs) and the suites' side (`startContractFloor`).
 */
import { Kvm } from "@nats-io/kv";
import { connect, headers, type NatsConnection } from "@nats-io/transport-node";
import Docker from "dockerode";
import { childArgs, spawnReady, stopChild } from "../lib/procs.js";
import type { SuiteContext } from "../lib/types.js";

/** The floor process: `<nats url> <container id> <subject prefix> <record bytes>`; answers `<prefix>.pause` and `<prefix>.resume`. */
export async function floorMain([natsUrl, containerId, prefix, size]: string[]): Promise<void> {
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const kv = await new Kvm(nc).create(`bench_floor_${process.pid}`, { history: 2, storage: "file" });
  const container = new Docker().getContainer(containerId!);
  const record = new Uint8Array(Number(size)).fill(0x61);
  let revision = await kv.put("sandbox", record);
  const sandboxId = `bench-floor-${process.pid}`;
  const write = async () => {
    revision = await kv.update("sandbox", record, revision);
    // The headers Corral's events carry (src/events.ts eventHeaders): without the dedupe id, a node's
    // event re-publisher on the same stream would decode each of these bytes to find it.
    const h = headers();
    h.set("Content-Type", "application/msgpack");
    h.set("Nats-Msg-Id", `${sandboxId}:${revision}`);
    nc.publish(`corral.v1.events.sandbox.${sandboxId}`, record, { headers: h });
  };
  // Write-ahead: the engine call waits for the intent's acknowledgement.
  const run = async (op: "pause" | "resume") => {
    await write();
    await (op === "pause" ? container.pause() : container.unpause());
    await write();
  };
  nc.subscribe(`${prefix}.*`, {
    callback: (_err, msg) => {
      run(msg.subject.endsWith(".pause") ? "pause" : "resume").then(
        () => msg.respond(record),
        (err: Error) => msg.respond(new TextEncoder().encode(`error: ${err.message}`)),
      );
    },
  });
  await nc.flush();
  process.stdout.write("ready\n");
  await new Promise((resolve) => process.once("SIGTERM", resolve));
  await kv.destroy();
  await nc.close();
}

/** The floor, seen from a suite: its request subjects and its two operations. */
export interface ContractFloor {
  /** Subjects `<prefix>.pause` and `<prefix>.resume`. */
  prefix: string;
  pause(): Promise<void>;
  resume(): Promise<void>;
}

/**
 * Spawns the floor on `containerId` (a running raw container of the suite's),
 * writing records of `recordBytes` bytes; requests go through `nc`. Stopped
 * by the suite's cleanup.
 */
export async function startContractFloor(
  ctx: Pick<SuiteContext, "nats" | "benchDir" | "cleanup">,
  nc: NatsConnection,
  containerId: string,
  recordBytes: number,
): Promise<ContractFloor> {
  const prefix = `bench.floor.${process.pid}`;
  const args = childArgs(ctx.benchDir, "bench/floors/contract-floor.ts", "floorMain", [ctx.nats.url, containerId, prefix, String(recordBytes)]);
  const { child } = await spawnReady("the contract floor", process.execPath, args, { ready: (line) => (line === "ready" ? true : undefined), stderr: "inherit", timeoutMs: 60_000 });
  ctx.cleanup(() => stopChild(child));
  const request = async (op: "pause" | "resume") => {
    const reply = await nc.request(`${prefix}.${op}`, new Uint8Array(0), { timeout: 60_000 });
    const text = reply.data.length < 200 ? new TextDecoder().decode(reply.data) : "";
    // The engine's message as is, so that DockerRaceRetry recognises the lagging-flag race.
    if (text.startsWith("error: ")) throw new Error(text.slice("error: ".length));
  };
  return { prefix, pause: () => request("pause"), resume: () => request("resume") };
}
