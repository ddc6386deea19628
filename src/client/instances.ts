/**
 * Which instances of the `corral` API service are alive right now, for the
 * client's retries (docs/operations.md, "Retries"). An instance is alive if
 * it answered `$SRV.PING.corral` just now: a stopped process (SIGSTOP, a
 * stalled event loop) cannot answer, so a retry sent to one of these
 * instances' own subjects (`<subject>.<instanceId>`) never lands on it,
 * whichever NATS server the requester is on (queue-group delivery prefers
 * members on the requester's own server, which is why the queue group alone
 * cannot route around a hung member).
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { subjects } from "../subjects.js";

/** A ping this recent is reused instead of asking again. */
export const LIVE_TTL_MS = 1_000;
/** After the first answer, stop listening once no other instance has answered for this long. */
const STALL_MS = 100;

/** One service instance as its ping reply names it. */
export interface LiveInstance {
  id: string;
  nodeId: string | null;
}

/** The live instances of the API service, asked on demand and remembered for {@link LIVE_TTL_MS}. */
export class LiveInstances {
  readonly #nc: NatsConnection;
  #last: { at: number; instances: LiveInstance[] } | null = null;

  constructor(nc: NatsConnection) {
    this.#nc = nc;
  }

  /**
   * The instances that answer a ping within `waitMs` (the remembered answer
   * if younger than {@link LIVE_TTL_MS} and `fresh` is false). Never throws:
   * no permission to ping (a tenant account has none), or no answer, is `[]`.
   */
  async get(waitMs: number, fresh = false): Promise<LiveInstance[]> {
    if (!fresh && this.#last !== null && Date.now() - this.#last.at < LIVE_TTL_MS) return this.#last.instances;
    const instances: LiveInstance[] = [];
    try {
      const replies = await this.#nc.requestMany(subjects.servicePing, undefined, { strategy: "stall", stall: STALL_MS, maxWait: Math.max(1, waitMs) });
      for await (const msg of replies) {
        const ping = parsePing(msg.data);
        if (ping !== null) instances.push(ping);
      }
    } catch {
      return [];
    }
    this.#last = { at: Date.now(), instances };
    return instances;
  }

  /** Forgets the remembered answer (an instance it named did not answer). */
  forget(): void {
    this.#last = null;
  }
}

/** `{id, metadata: {nodeId}}` of a ping reply, or null for anything else (an error status, another shape). */
function parsePing(data: Uint8Array): LiveInstance | null {
  try {
    const body = JSON.parse(new TextDecoder().decode(data)) as { id?: unknown; metadata?: { nodeId?: unknown } | null };
    if (typeof body.id !== "string" || !/^[A-Za-z0-9]+$/.test(body.id)) return null;
    return { id: body.id, nodeId: typeof body.metadata?.nodeId === "string" ? body.metadata.nodeId : null };
  } catch {
    return null;
  }
}
