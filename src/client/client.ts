/**
 * The typed client of the `corral` API: one method per endpoint, errors as
 * CorralError subclasses by code (`NotFoundError`, `GoneError`, ...). The CLI
 * and the tests use it.
 *
 * @example
 * const corral = await CorralClient.connect({ natsUrl: "nats://127.0.0.1:4222" });
 * const sbx = await corral.create({ timeoutMs: 60_000, metadata: { user: "alice" } });
 * await corral.setTimeout(sbx.sandboxId, 600_000);
 * await corral.close();
 */
import { connect as natsConnect } from "@nats-io/transport-node";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { MSGPACK_CONTENT_TYPE, JSON_CONTENT_TYPE, decodeBody, encodeAs, type Encoding } from "../codec.js";
import { UnavailableError, errorFromCode } from "../errors.js";
import { defaultNatsUrl } from "../config.js";
import type { SandboxRecord } from "../schema/record.js";
import type { CreateRequest, ListRequest } from "../schema/requests.js";
import { subjects, type ApiOp } from "../subjects.js";
import type { ConnectReply, CreateReply, ListReply } from "./types.js";

export interface CorralClientOptions {
  /** @default $CORRAL_NATS_URL, then nats://127.0.0.1:4222 */
  natsUrl?: string;
  /** Reply timeout per request. Creates wait for the sandbox to run. @default 120000 */
  timeoutMs?: number;
  /** Wire encoding of requests. @default "json" */
  encoding?: Encoding;
}

export class CorralClient {
  readonly #nc: NatsConnection;
  readonly #owned: boolean;
  readonly #timeoutMs: number;
  readonly #encoding: Encoding;

  /** Wraps an existing connection (not closed by `close()`). */
  constructor(nc: NatsConnection, options: CorralClientOptions = {}, owned = false) {
    this.#nc = nc;
    this.#owned = owned;
    this.#timeoutMs = options.timeoutMs ?? 120_000;
    this.#encoding = options.encoding ?? "json";
  }

  /** Opens its own NATS connection. @throws UnavailableError when NATS cannot be reached */
  static async connect(options: CorralClientOptions = {}): Promise<CorralClient> {
    const url = options.natsUrl ?? defaultNatsUrl();
    try {
      const nc = await natsConnect({ servers: url, name: "corral-client" });
      return new CorralClient(nc, options, true);
    } catch (err) {
      throw new UnavailableError(`cannot connect to NATS at ${url}: ${(err as Error).message}`, { cause: err });
    }
  }

  get nats(): NatsConnection {
    return this.#nc;
  }

  /** Sends one API request; decodes the reply or throws the contract error. */
  async request<T>(op: ApiOp, body: unknown): Promise<T> {
    const h = natsHeaders();
    h.set("Content-Type", this.#encoding === "msgpack" ? MSGPACK_CONTENT_TYPE : JSON_CONTENT_TYPE);
    let msg;
    try {
      msg = await this.#nc.request(subjects.api(op), encodeAs(this.#encoding, body), { timeout: this.#timeoutMs, headers: h });
    } catch (err) {
      const e = err as Error;
      if (/no responders/i.test(e.message) || e.name === "NoRespondersError") throw new UnavailableError("no Corral node serves the API", { cause: err });
      throw new UnavailableError(`${op}: ${e.message}`, { cause: err });
    }
    const replyEncoding: Encoding = msg.headers?.get("Content-Type")?.startsWith(MSGPACK_CONTENT_TYPE) ? "msgpack" : "json";
    const status = msg.headers?.get("Nats-Service-Error-Code");
    const decoded = msg.data.length > 0 ? decodeBody(replyEncoding, msg.data) : {};
    if (status) {
      const error = (decoded as { error?: { code?: string; message?: string } }).error;
      throw errorFromCode(error?.code ?? "internal", error?.message ?? msg.headers?.get("Nats-Service-Error") ?? `error ${status}`);
    }
    return decoded as T;
  }

  /** Creates a sandbox and resolves once it is running. */
  create(request: CreateRequest = {}): Promise<CreateReply> {
    return this.request("create", request);
  }
  /** The record, a killed tombstone included. */
  get(sandboxId: string): Promise<SandboxRecord> {
    return this.request("get", { sandboxId });
  }
  /** Newest first; killed tombstones only when `state` asks for them. */
  list(query: ListRequest = {}): Promise<ListReply> {
    return this.request("list", query);
  }
  /** Idempotent: a killing/killed sandbox answers with its record. */
  kill(sandboxId: string): Promise<SandboxRecord> {
    return this.request("kill", { sandboxId });
  }
  pause(sandboxId: string): Promise<SandboxRecord> {
    return this.request("pause", { sandboxId });
  }
  /** @param options.timeoutMs new timeout from now, ms (default: the sandbox's timeoutMs) */
  resume(sandboxId: string, options: { timeoutMs?: number } = {}): Promise<SandboxRecord> {
    return this.request("resume", { sandboxId, ...options });
  }
  /** Resumes a paused sandbox; on a running one only extends its deadline. */
  connectSandbox(sandboxId: string, options: { timeoutMs?: number } = {}): Promise<ConnectReply> {
    return this.request("connect", { sandboxId, ...options });
  }
  /** `endAt = min(now + timeoutMs, startedAt + maxLifetimeMs)`; 0 expires now. */
  setTimeout(sandboxId: string, timeoutMs: number): Promise<SandboxRecord> {
    return this.request("set_timeout", { sandboxId, timeoutMs });
  }
  /** Extends only: `endAt = max(endAt, now + durationMs)`. @default durationMs 60000 */
  refresh(sandboxId: string, durationMs?: number): Promise<SandboxRecord> {
    return this.request("refresh", durationMs === undefined ? { sandboxId } : { sandboxId, durationMs });
  }

  /** Closes the connection if this client opened it. */
  async close(): Promise<void> {
    if (this.#owned) await this.#nc.drain().catch(() => this.#nc.close());
  }
}
