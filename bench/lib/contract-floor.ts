/**
 * Runs the contract's floor (contract-floor.mjs: raw nats.js and dockerode
 * doing only what the contract requires around an engine pause/resume) in its
 * own process, for the node suite to compare Corral's node against.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { NatsConnection } from "@nats-io/transport-node";
import type { FloorOps } from "./docker-compare.js";
import type { SuiteContext } from "./types.js";

const REQUEST_TIMEOUT_MS = 60_000;

/**
 * Spawns the floor on `containerId` (a running raw container of the suite's);
 * it writes records of `recordBytes` bytes. Resolves with its pause and
 * resume requests. Stopped by the suite's cleanup.
 */
export async function startContractFloor(
  ctx: Pick<SuiteContext, "nats" | "benchDir" | "cleanup">,
  nc: NatsConnection,
  containerId: string,
  recordBytes: number,
): Promise<FloorOps> {
  const prefix = `bench.floor.${process.pid}`;
  const child = spawn(process.execPath, [path.join(ctx.benchDir, "lib", "contract-floor.mjs"), ctx.nats.url, containerId, prefix, String(recordBytes)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  ctx.cleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  });
  await new Promise<void>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("ready\n")) resolve();
    });
    void exited.then(() => reject(new Error(`the contract floor exited before it was ready:\n${out}`)));
  });
  const request = async (op: "pause" | "resume") => {
    const reply = await nc.request(`${prefix}.${op}`, new Uint8Array(0), { timeout: REQUEST_TIMEOUT_MS });
    const text = reply.data.length < 200 ? new TextDecoder().decode(reply.data) : "";
    // The engine's message as is, so that DockerRaceRetry recognises the lagging-flag race.
    if (text.startsWith("error: ")) throw new Error(text.slice("error: ".length));
  };
  return { pause: () => request("pause"), resume: () => request("resume") };
}
