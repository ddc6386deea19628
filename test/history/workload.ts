/**
 * A mixed workload for history runs: N concurrent clients, each sending
 * `opsPerClient` requests chosen by a seeded generator over a shared pool of
 * sandboxes (create, create with a key, get, list, kill, pause, resume,
 * connect, set_timeout, refresh), every one recorded by a `Recorder`.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { CorralClient } from "../../src/client/client.js";
import type { ApiOp } from "../../src/subjects.js";
import { prng } from "../helpers/prng.js";
import type { Recorder } from "./recorder.js";

/** Options of {@link runWorkload}. */
export interface WorkloadOptions {
  clients: CorralClient[];
  recorder: Recorder;
  opsPerClient: number;
  /** Seed of the op choices (logged by the caller, so a run can be repeated). */
  seed: number;
  /** Sandboxes alive at once, at most (a create beyond it becomes a kill). @default 8 */
  maxLive?: number;
  /** Idempotency keys creates pick from (creates with a key name the same few ids). @default 3 */
  keys?: number;
  /**
   * Send `list` requests too (each listed record is checked like a reply: not
   * older than a write acknowledged before the list started). @default true
   */
  list?: boolean;
  /** When given, each client goes on until it returns true (`opsPerClient` is then a cap). */
  until?: () => boolean;
  /** Pause of each client between two requests, ms (a steady load beside a test's own steps). @default 0 */
  pauseMs?: number;
}

/** Op weights (relative). */
const MIX: [ApiOp | "create_key", number][] = [
  ["create", 7],
  ["create_key", 5],
  ["get", 12],
  ["list", 5],
  ["kill", 7],
  ["pause", 13],
  ["resume", 13],
  ["connect", 8],
  ["set_timeout", 15],
  ["refresh", 15],
];

/** Runs the workload to the end; resolves when every client has sent all its requests. */
export async function runWorkload(opts: WorkloadOptions): Promise<void> {
  const random = prng(opts.seed);
  const maxLive = opts.maxLive ?? 8;
  const keys = opts.keys ?? 3;
  const pool = new Set<string>();
  const killed = new Set<string>();
  const pick = <T>(items: T[]): T | undefined => items[Math.floor(random() * items.length)];
  const mix = opts.list === false ? MIX.filter(([op]) => op !== "list") : MIX;
  const total = mix.reduce((sum, [, w]) => sum + w, 0);
  const choose = (): ApiOp | "create_key" => {
    let r = random() * total;
    for (const [op, w] of mix) if ((r -= w) < 0) return op;
    return "get";
  };
  const live = () => [...pool].filter((id) => !killed.has(id));

  const remember = (reply: unknown) => {
    const records = reply === undefined || reply === null ? [] : "sandbox" in (reply as object) ? [(reply as { sandbox: unknown }).sandbox] : [reply];
    for (const r of records as { sandboxId?: string; state?: string }[]) {
      if (typeof r?.sandboxId !== "string") continue;
      pool.add(r.sandboxId);
      if (r.state === "killed") killed.add(r.sandboxId);
      else killed.delete(r.sandboxId);
    }
  };

  const one = async (no: number, client: CorralClient) => {
    let op = choose();
    const target = pick(live()) ?? pick([...pool]);
    if ((op === "create" || op === "create_key") && live().length >= maxLive) op = "kill";
    if (target === undefined && op !== "create_key" && op !== "list") op = "create";
    const call = (api: ApiOp, args: Record<string, unknown>) => opts.recorder.call(no, client, api, args);
    switch (op) {
      case "create":
        return remember(await call("create", { timeoutMs: 300_000, resources: { cpu: 0.1, memoryMB: 16 } }));
      case "create_key":
        return remember(await call("create", { key: `history-key-${Math.floor(random() * keys)}`, timeoutMs: 300_000, resources: { cpu: 0.1, memoryMB: 16 } }));
      case "list":
        return void (await call("list", { state: ["starting", "running", "pausing", "paused", "resuming", "killing", "killed"] }));
      case "set_timeout":
        return remember(await call("set_timeout", { sandboxId: target, timeoutMs: 30_000 + Math.floor(random() * 600_000) }));
      case "refresh":
        return remember(await call("refresh", random() < 0.3 ? { sandboxId: target } : { sandboxId: target, durationMs: 1 + Math.floor(random() * 900_000) }));
      case "resume":
      case "connect":
        return remember(await call(op, random() < 0.5 ? { sandboxId: target } : { sandboxId: target, timeoutMs: 60_000 + Math.floor(random() * 300_000) }));
      default:
        return remember(await call(op, { sandboxId: target }));
    }
  };

  await Promise.all(
    opts.clients.map(async (client, i) => {
      for (let n = 0; n < opts.opsPerClient && !opts.until?.(); n++) {
        await one(i + 1, client);
        if (opts.pauseMs) await sleep(opts.pauseMs);
      }
    }),
  );
}
