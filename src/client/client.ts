/**
 * The typed client of the `corral` API: one method per endpoint, errors as
 * CorralError subclasses by code (`NotFoundError`, `GoneError`, ...). The CLI
 * and the tests use it. Units: every duration is integer milliseconds and
 * every time is ms since the epoch, as on the wire.
 *
 * @example
 * const corral = await CorralClient.connect({ natsUrl: "nats://127.0.0.1:4222" });
 * const sbx = await corral.create({ timeoutMs: 60_000, metadata: { user: "alice" } });
 * await corral.setTimeout(sbx.sandboxId, 600_000);
 * await corral.kill(sbx.sandboxId);
 * await corral.close();
 */
import { Match, RequestError, TimeoutError, type Msg, type NatsConnection } from "@nats-io/nats-core";
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { MSGPACK_CONTENT_TYPE, JSON_CONTENT_TYPE, decodeBody, encodeAs, encodingOf, type Encoding } from "../codec.js";
import { resolveConfig } from "../config.js";
import { ConflictError, InternalError, UnavailableError, errorFromCode, type CorralError } from "../errors.js";
import { CLIENT_KEY_PREFIX, type NodeId } from "../ids.js";
import { connectNats, type NatsAuthSettings } from "../nats/connection.js";
import { ApiKeyStore } from "../store/api-keys.js";
import { NodeRegistry } from "../store/node-registry.js";
import { PING_MS, Routing } from "./routing.js";
import { runExec, type ExecOptions, type ExecResult } from "./exec.js";
import type { SandboxRecord } from "../schema/record.js";
import type { CreateRequest, ListRequest } from "../schema/requests.js";
import { DEFAULT_REQUEST_DEADLINE_MS, setDeadline } from "../deadline-header.js";
import { API_OPS, subjects, type ApiOp, type ClusterOp } from "../subjects.js";
import type { ConnectReply, CreateReply, ListReply, NodeEntry, NodesReply } from "./types.js";
import { watchEvents, type WatchedEvent, type WatchOptions } from "./watch.js";

/** Options of {@link CorralClient.connect} and the constructor. */
export interface CorralClientOptions {
  /** NATS server URL, or a comma-separated list to fail over between. @default $CORRAL_NATS_URL, then "nats://127.0.0.1:4222" */
  natsUrl?: string;
  /**
   * Deadline of each request, in ms from when it is sent: retries included,
   * the call resolves or fails within it, and the service drops the request
   * once it has passed. A create waits for the sandbox to run.
   * @default 10000
   */
  timeoutMs?: number;
  /** Wire encoding of requests (replies come back in the same one). @default "json" */
  encoding?: Encoding;
  /** Credentials and TLS files. @default $CORRAL_NATS_CREDS, $CORRAL_NATS_TLS_* */
  auth?: NatsAuthSettings;
  /**
   * Act as this tenant: requests go to `corral.v1.tenant.<tenant>.sandbox.<op>`
   * (what the E2B gateway does for a key's tenant). @default none: the plain subjects
   */
  tenant?: string;
}

/** Options of `resume` and `connectSandbox`. */
export interface ResumeOptions {
  /** New timeout from now, in ms (1..maxTimeoutMs); it replaces the stored `timeoutMs`. @default the sandbox's `timeoutMs` */
  timeoutMs?: number;
}

/**
 * Ops a retry cannot make happen twice: reads, and the ones the contract
 * makes idempotent (kill, pause, resume, drain; create once it has a key).
 * set_timeout, refresh and connect compute from the time they run, so they
 * are sent once.
 */
export const RETRY_SAFE_OPS: ReadonlySet<string> = new Set(["get", "list", "create", "kill", "pause", "resume", "nodes", "drain"]);

/** A safe request gets at least this long per attempt; less left than this and it is not retried. */
const MIN_ATTEMPT_MS = 500;
/** Pause before retrying a request nobody served. */
const NO_RESPONDERS_PAUSE_MS = 250;
/** The key the client gives a create without one (see `create`). */
export function clientKey(): string {
  return `${CLIENT_KEY_PREFIX}${randomUUID()}`;
}

/**
 * A create with a key: the caller's, else one of the client's. A key makes
 * the create safe to retry: a retry names the same id and finds the sandbox
 * the first attempt made (then `created: false`).
 */
function withKey(request: CreateRequest | undefined): CreateRequest {
  return request?.key === undefined ? { ...request, key: clientKey() } : request;
}

/** The request never got a reply (no responder, or none in time); the op may or may not have run. */
class TransportFailure extends Error {
  readonly noResponders: boolean;
  constructor(cause: unknown) {
    super((cause as Error).message, { cause });
    this.noResponders = cause instanceof RequestError && cause.isNoResponders();
  }
}

/** Maps a failed `nc.request` to the contract's error: nobody serving, or no reply in time, is `unavailable`. */
function requestFailure(op: string, err: unknown, timeoutMs: number): CorralError {
  if (err instanceof RequestError && err.isNoResponders()) {
    return new UnavailableError("no Corral node serves the API (start one with `corral up` or `corral node`)", { cause: err });
  }
  if (err instanceof TimeoutError || (err instanceof RequestError && err.cause instanceof TimeoutError)) {
    return new UnavailableError(`${op}: no reply within ${timeoutMs} ms`, { cause: err });
  }
  return new UnavailableError(`${op}: ${(err as Error).message}`, { cause: err });
}

/** An error reply (header `Nats-Service-Error-Code`) -> the CorralError subclass of its code. */
function errorReply(msg: Msg, encoding: Encoding, status: string): CorralError {
  const headerMessage = msg.headers?.get("Nats-Service-Error", Match.IgnoreCase) || `error ${status}`;
  let body: unknown;
  try {
    body = decodeBody(encoding, msg.data);
  } catch {
    return new InternalError(`undecodable error reply (${status}): ${headerMessage}`);
  }
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  const code = typeof error?.code === "string" ? error.code : "internal";
  return errorFromCode(code, typeof error?.message === "string" ? error.message : headerMessage);
}

/** A client of the `corral` service on one NATS connection. */
export class CorralClient {
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #encoding: Encoding;
  readonly #tenant: string | undefined;
  /** Shared with {@link bounded} views. */
  #routing: Routing;
  /** Set on a {@link bounded} view: every request ends by then. */
  #deadlineAt: number | null = null;

  /** Wraps an existing connection; `close()` leaves it open unless `owned`. */
  constructor(nc: NatsConnection, options: CorralClientOptions = {}, owned = false) {
    this.#nc = nc;
    this.#owned = owned;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_DEADLINE_MS;
    this.#encoding = options.encoding ?? "json";
    this.#tenant = options.tenant;
    this.#routing = new Routing(nc, this.#timeoutMs);
  }

  /**
   * A view of this client (same connection, same memory of live instances)
   * whose requests all end by `deadlineAt` (ms since the epoch), or by this
   * client's own bound if that comes first: what the gateway uses for a
   * caller that sent its own `Corral-Deadline`. `close()` on it closes nothing.
   */
  bounded(deadlineAt: number): CorralClient {
    const view = new CorralClient(this.#nc, { timeoutMs: this.#timeoutMs, encoding: this.#encoding, ...(this.#tenant === undefined ? {} : { tenant: this.#tenant }) });
    view.#routing = this.#routing;
    view.#deadlineAt = deadlineAt;
    return view;
  }

  /**
   * Opens its own NATS connection (closed by `close()`).
   * @throws UnavailableError when NATS cannot be reached
   */
  static async connect(options: CorralClientOptions = {}): Promise<CorralClient> {
    // One pass over the URL list (a client does not wait for a NATS that is
    // not there); once connected it fails over between the servers. Async
    // traces stay off: errors reach callers as CorralErrors (code + message).
    const nc = await connectNats({ natsUrl: options.natsUrl, name: "corral-client", ...(options.auth ? { auth: options.auth } : {}) });
    return new CorralClient(nc, options, true);
  }

  /** The underlying connection. */
  get nats(): NatsConnection {
    return this.#nc;
  }

  /**
   * Sends one API request and decodes the reply, or throws the contract's
   * error as its CorralError subclass. The typed methods below wrap it.
   *
   * The request carries a deadline (`timeoutMs` from now) and never outlives
   * it. A safe request ({@link RETRY_SAFE_OPS}) that gets no reply in time
   * is sent again within that deadline, to an API service instance that has
   * just answered a ping and has not failed this request yet (on its own
   * subject, `<subject>.<instanceId>`): a hung node delays it but cannot
   * take the retry too. Nobody serving at all (a failover) is retried on the
   * queue group after a short pause, and any request that found no
   * responder (it reached nobody) is sent again. See docs/operations.md,
   * "Retries".
   */
  async request<T>(op: ApiOp | ClusterOp, given: unknown): Promise<T> {
    // A create is retried only under a key, so that a retry names the sandbox the first attempt made.
    const body = op === "create" ? withKey(given as CreateRequest) : given;
    const queueSubject = this.#subjectOf(op);
    const startedAt = Date.now();
    const deadlineAt = Math.min(startedAt + this.#timeoutMs, this.#deadlineAt ?? Number.POSITIVE_INFINITY);
    const safe = RETRY_SAFE_OPS.has(op);
    // A caller whose deadline has already passed gets its answer without a request: the service would drop it.
    if (deadlineAt <= startedAt) throw new UnavailableError(`${op}: the request's deadline passed before it was sent`);
    const failed = new Set<string>();
    let target = await this.#routing.firstTarget(deadlineAt);
    for (;;) {
      const remaining = deadlineAt - Date.now();
      // A safe request keeps part of its budget for a retry elsewhere.
      const waitMs = safe ? Math.max(Math.min(MIN_ATTEMPT_MS, remaining), Math.floor(remaining * (op === "create" ? 0.6 : 0.5))) : remaining;
      const subject = target === null ? queueSubject : subjects.direct(queueSubject, target);
      try {
        return await this.#once<T>(op, subject, body, deadlineAt, Math.max(1, waitMs));
      } catch (err) {
        const left = deadlineAt - Date.now();
        if (err instanceof TransportFailure) this.#routing.failed(target, err.noResponders);
        // No responder means nobody got it: even an unsafe op can be sent again (an instance named by a stale ping has gone).
        if (!(err instanceof TransportFailure) || !(safe || err.noResponders) || left < MIN_ATTEMPT_MS) {
          throw err instanceof TransportFailure ? requestFailure(op, err.cause, deadlineAt - startedAt) : err;
        }
        if (target !== null) failed.add(target);
        if (target === null && err.noResponders) {
          // Nobody serving right now (a failover under way): a short pause, not a spin.
          await sleep(Math.min(NO_RESPONDERS_PAUSE_MS, left - MIN_ATTEMPT_MS));
          continue;
        }
        target = await this.#routing.retryTarget(failed, Math.min(PING_MS, left - MIN_ATTEMPT_MS));
      }
    }
  }

  /** A sandbox op on the plain subject, or on the tenant's (what the E2B gateway does for a key's tenant); a cluster op on its own. */
  #subjectOf(op: ApiOp | ClusterOp): string {
    if (!(API_OPS as readonly string[]).includes(op)) return subjects.cluster(op as ClusterOp);
    return this.#tenant === undefined ? subjects.api(op as ApiOp) : subjects.tenantApi(this.#tenant, op as ApiOp);
  }

  async #once<T>(op: string, subject: string, body: unknown, deadlineAt: number, waitMs: number): Promise<T> {
    const h = setDeadline(deadlineAt);
    h.set("Content-Type", this.#encoding === "msgpack" ? MSGPACK_CONTENT_TYPE : JSON_CONTENT_TYPE);
    let msg: Msg;
    try {
      msg = await this.#nc.request(subject, encodeAs(this.#encoding, body), { timeout: waitMs, headers: h });
    } catch (err) {
      throw new TransportFailure(err);
    }
    const encoding = encodingOf(msg.headers?.get("Content-Type", Match.IgnoreCase));
    const status = msg.headers?.get("Nats-Service-Error-Code", Match.IgnoreCase);
    if (status) throw errorReply(msg, encoding, status);
    try {
      return decodeBody(encoding, msg.data) as T;
    } catch (err) {
      throw new InternalError(`${op}: undecodable reply`, { cause: err });
    }
  }

  /**
   * Creates a sandbox; resolves once it is `running`. With `key`, a live
   * sandbox of that key is returned instead (`created: false`, resumed if
   * paused) and `trafficToken` is absent. Defaults: template "base",
   * timeoutMs 300000, expiration "ttl", lifecycle {onTimeout "kill",
   * autoResume false, idle false}, resources {cpu 1, memoryMB 512}, secure true.
   * @throws CapacityExhaustedError when no node has room (the message names each node's shortfall)
   * @throws UnavailableError when no node is live, or the driver could not start it
   */
  create(request: CreateRequest = {}): Promise<CreateReply> {
    return this.request("create", request);
  }

  /**
   * The record, a killed tombstone included (for `tombstoneMs`, default 1 h).
   * @throws NotFoundError when there is no such sandbox
   */
  get(sandboxId: string): Promise<SandboxRecord> {
    return this.request("get", { sandboxId });
  }

  /**
   * One page of sandboxes, newest `createdAt` first. Killed tombstones only
   * when `state` includes "killed". `limit` 1..1000 @default 100; pass the
   * reply's `nextCursor` as `cursor` for the next page (null on the last).
   */
  list(query: ListRequest = {}): Promise<ListReply> {
    return this.request("list", query);
  }

  /** Kills a sandbox; resolves with the `killed` record. Idempotent: a killing/killed sandbox answers with its record. */
  kill(sandboxId: string): Promise<SandboxRecord> {
    return this.request("kill", { sandboxId });
  }

  /**
   * Pauses a running sandbox; resolves with the `paused` record (`endAt`
   * null). On a paused one: the unchanged record (same revision).
   * @throws GoneError on a killing/killed sandbox
   */
  pause(sandboxId: string): Promise<SandboxRecord> {
    return this.request("pause", { sandboxId });
  }

  /**
   * Resumes a paused sandbox; resolves with the `running` record
   * (`startedAt = now`, `endAt = now + timeoutMs`). On a running one: the
   * unchanged record.
   * @throws GoneError on a killing/killed sandbox
   */
  resume(sandboxId: string, options: ResumeOptions = {}): Promise<SandboxRecord> {
    return this.request("resume", { sandboxId, ...options });
  }

  /**
   * Resumes a paused sandbox (`resumed: true`); on a running one only extends
   * its deadline to at least `now + timeoutMs` (never shortens it).
   * @throws GoneError on a killing/killed sandbox
   */
  connectSandbox(sandboxId: string, options: ResumeOptions = {}): Promise<ConnectReply> {
    return this.request("connect", { sandboxId, ...options });
  }

  /**
   * `endAt = min(now + timeoutMs, startedAt + maxLifetimeMs)`: may shorten;
   * 0 expires it now. On a paused sandbox it stores `timeoutMs` for the next
   * resume. Resolves with the persisted record.
   * @param timeoutMs integer ms, 0..maxTimeoutMs (default max 86400000)
   * @throws ConflictError on a sandbox with `expiration: "manual"`
   */
  setTimeout(sandboxId: string, timeoutMs: number): Promise<SandboxRecord> {
    return this.request("set_timeout", { sandboxId, timeoutMs });
  }

  /**
   * Extends only: `endAt = max(endAt, now + durationMs)`, capped by
   * `startedAt + maxLifetimeMs`. A no-op on a paused sandbox.
   * @param durationMs integer ms, 1..3600000 @default 60000
   * @throws ConflictError on a sandbox with `expiration: "manual"`
   */
  refresh(sandboxId: string, durationMs?: number): Promise<SandboxRecord> {
    return this.request("refresh", durationMs === undefined ? { sandboxId } : { sandboxId, durationMs });
  }

  /** Every node with its state (ready, draining, stopping, lost), capacity, allocation and counts. */
  nodes(): Promise<NodesReply> {
    return this.request("nodes", {});
  }

  /**
   * Drains a node (`drain: true`: it admits no new sandbox; the ones it has
   * live on) or undoes it; resolves with the node's entry.
   * @throws NotFoundError for an unknown node
   * @throws UnavailableError when the node does not answer
   */
  drain(nodeId: string, drain = true): Promise<NodeEntry> {
    return this.request("drain", { nodeId, drain });
  }

  /**
   * Streams transitions (every record write) as they happen; with `sinceMs`
   * it first replays that much history from the CORRAL_EVENTS stream, then
   * continues live without a gap. Records are the client-facing shape.
   */
  watch(options: WatchOptions = {}): AsyncGenerator<WatchedEvent> {
    return watchEvents(this.#nc, options);
  }

  /**
   * Runs `cmd args` in a running sandbox and resolves with its exit status;
   * stdout and stderr reach `onStdout`/`onStderr` as they come. Goes to the
   * owning node's envd endpoint directly, so the client must be able to read
   * `corral_nodes` and `corral_api_keys` (see ./exec.ts).
   * @throws ConflictError when the sandbox is not running
   */
  async exec(sandboxId: string, cmd: string, args: string[] = [], options: ExecOptions = {}): Promise<ExecResult> {
    const record = await this.get(sandboxId);
    if (record.state !== "running") throw new ConflictError(`sandbox ${sandboxId} is ${record.state}, not running`);
    const [registry, keys] = await Promise.all([NodeRegistry.open(this.#nc, resolveConfig()), ApiKeyStore.open(this.#nc)]);
    const node = await registry.get(record.nodeId as NodeId);
    if (!node?.envd) throw new UnavailableError(`node ${record.nodeId} serves no envd endpoint`);
    return runExec({ record, envd: node.envd, secret: await keys.envdSecret() }, cmd, args, options);
  }

  /** Closes the connection if this client opened it. */
  async close(): Promise<void> {
    if (this.#owned) await this.#nc.drain().catch(() => this.#nc.close());
  }
}
