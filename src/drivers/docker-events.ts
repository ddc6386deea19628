/**
 * Watching Docker's event stream for containers of one node that die or are
 * removed behind Corral's back. One long-lived HTTP stream per watch (no
 * polling); reconnects with backoff and resumes from the last event seen
 * (`since`), so a dropped stream loses nothing. Events reach the callback
 * within milliseconds of the engine emitting them.
 */
import type Dockerode from "dockerode";
import type { Readable } from "node:stream";
import type { SandboxId } from "../ids.js";
import type { Logger } from "../log.js";
import type { DriverEvent } from "./types.js";
import { LABEL_CLUSTER_ID, LABEL_NODE_ID, LABEL_POOL_MEMBER, LABEL_SANDBOX_ID, isStoppedName } from "./labels.js";
import { inScope, scopeNodeId, type DriverScope } from "./scope.js";

/**
 * Splits a byte stream into complete lines. Docker writes one JSON object per
 * line, but a chunk may end in the middle of one (or of a UTF-8 sequence, which
 * is why bytes are joined before decoding).
 */
export class LineDecoder {
  #pending: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the complete lines it finished (without "\n"). */
  push(chunk: Buffer | string): string[] {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.#pending = this.#pending.length ? Buffer.concat([this.#pending, bytes]) : bytes;
    const lines: string[] = [];
    let start = 0;
    for (let nl = this.#pending.indexOf(10, start); nl !== -1; nl = this.#pending.indexOf(10, start)) {
      const line = this.#pending.subarray(start, nl).toString("utf8").trim();
      if (line) lines.push(line);
      start = nl + 1;
    }
    this.#pending = this.#pending.subarray(start);
    return lines;
  }
}

/** The fields of a Docker event this module reads. */
export interface DockerEventMessage {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
  timeNano?: number;
}

/**
 * Maps one Docker event to a DriverEvent, or null when it is not one:
 * `die` → `exited`, `destroy` → `removed`. A `die` of a container whose name
 * carries the stop-mode marker is Corral's own `pause(handle, "stop")` and is
 * not reported (it is a pause, not an exit). Containers of another cluster
 * (same node id) are not this watch's.
 */
export function toDriverEvent(message: DockerEventMessage, scope: DriverScope): DriverEvent | null {
  if (message.Type !== "container") return null;
  const attributes = message.Actor?.Attributes ?? {};
  const handle = message.Actor?.ID;
  const sandboxId = attributes[LABEL_SANDBOX_ID];
  if (!handle || !sandboxId || attributes[LABEL_NODE_ID] !== scopeNodeId(scope) || !inScope(scope, attributes[LABEL_CLUSTER_ID])) return null;
  const at = message.timeNano ? Math.floor(message.timeNano / 1e6) : (message.time ?? 0) * 1000 || Date.now();
  const member = attributes[LABEL_POOL_MEMBER] ? { poolMember: attributes[LABEL_POOL_MEMBER] } : {};
  if (message.Action === "die") {
    if (isStoppedName(attributes.name ?? "")) return null;
    return { type: "exited", sandboxId: sandboxId as SandboxId, handle, at, ...member };
  }
  if (message.Action === "destroy") return { type: "removed", sandboxId: sandboxId as SandboxId, handle, at, ...member };
  return null;
}

/** Docker's `since` takes "<seconds>.<nanoseconds>". */
function sinceOf(timeNano: bigint): string {
  const s = timeNano / 1_000_000_000n;
  const ns = timeNano % 1_000_000_000n;
  return `${s}.${ns.toString().padStart(9, "0")}`;
}

/** Backoff bounds of the reconnect loop. */
const RECONNECT_MIN_MS = 50;
const RECONNECT_MAX_MS = 5_000;

/**
 * Starts watching; returns the stop function. The first connection asks for
 * events since the moment of the call, so nothing between `watch()` returning
 * and the stream being open is lost.
 */
export function watchDockerEvents(docker: Dockerode, scope: DriverScope, onEvent: (event: DriverEvent) => void, log: Logger): () => void {
  let stopped = false;
  let stream: Readable | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let backoffMs = RECONNECT_MIN_MS;
  // Resume point and de-duplication: `since` is inclusive, so the event at
  // exactly `lastNano` may be replayed on reconnect.
  let lastNano = BigInt(Date.now()) * 1_000_000n;
  const seenAtLast = new Set<string>();
  const abort = new AbortController();

  const deliver = (message: DockerEventMessage) => {
    if (message.timeNano !== undefined) {
      const nano = BigInt(Math.floor(message.timeNano));
      const key = `${message.Actor?.ID}:${message.Action}`;
      if (nano < lastNano) return;
      if (nano === lastNano && seenAtLast.has(key)) return;
      if (nano > lastNano) seenAtLast.clear();
      lastNano = nano;
      seenAtLast.add(key);
    }
    const event = toDriverEvent(message, scope);
    if (!event) return;
    try {
      onEvent(event);
    } catch (err) {
      // A throwing callback must not tear down the stream every other sandbox relies on.
      log.error({ err, sandboxId: event.sandboxId }, "driver event callback threw");
    }
  };

  const scheduleReconnect = (reason: string) => {
    stream = null;
    if (stopped || retryTimer) return;
    log.warn({ reason, retryInMs: backoffMs }, "docker event stream lost; reconnecting");
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, backoffMs);
    backoffMs = Math.min(backoffMs * 2, RECONNECT_MAX_MS);
  };

  const connect = async () => {
    if (stopped) return;
    let s: Readable;
    try {
      // `since` as "<s>.<ns>" (the engine accepts it; @types says number only).
      const options = {
        since: sinceOf(lastNano),
        filters: { type: ["container"], label: [`${LABEL_NODE_ID}=${scopeNodeId(scope)}`], event: ["die", "destroy"] },
        abortSignal: abort.signal,
      } as unknown as Dockerode.GetEventsOptions;
      s = (await docker.getEvents(options)) as unknown as Readable;
    } catch (err) {
      scheduleReconnect((err as Error).message);
      return;
    }
    if (stopped) {
      s.destroy();
      return;
    }
    stream = s;
    backoffMs = RECONNECT_MIN_MS;
    const decoder = new LineDecoder();
    s.on("data", (chunk: Buffer) => {
      for (const line of decoder.push(chunk)) {
        try {
          deliver(JSON.parse(line) as DockerEventMessage);
        } catch (err) {
          log.warn({ err, line: line.slice(0, 200) }, "undecodable docker event");
        }
      }
    });
    s.once("error", (err: Error) => scheduleReconnect(err.message));
    s.once("close", () => scheduleReconnect("stream closed"));
    s.once("end", () => scheduleReconnect("stream ended"));
  };

  void connect();
  return () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    abort.abort();
    stream?.destroy();
    stream = null;
  };
}
