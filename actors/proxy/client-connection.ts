/**
 * One client connection of the proxy's HTTP/1.1 data plane: reads a request
 * head, hands it to the router (`proxy-server.ts`: target, gate), then
 * forwards the request (head rewritten, body bytes as they came) over an
 * upstream connection pinned to this one and relays the response the same
 * way. One request at a time: pipelined requests wait in the buffer until
 * the response before them is complete. Upgrades that the sandbox accepts
 * (101) splice the two sockets for good.
 *
 * Limits (`limits.ts`): when reading pauses and how writes to a slow client
 * are bounded is `client-flow.ts`; the head, body, upstream and idle
 * timeouts are checked on the replica's sweep against a coarse clock. A
 * client that half-closes still gets the answers to every complete request
 * it sent.
 *
 * Allocation-light by design: two objects per connection (this and its
 * flow) with their handlers bound once; per request only the parsed head,
 * the rewritten head string and (when a head spans reads) one
 * `Buffer.concat`.
 */
import type net from "node:net";
import type { StoredSandbox } from "../../src/schema/record.js";
import { pathWithoutQuery, type AccessLog } from "./access-log.js";
import { BodyFramer } from "./body-framing.js";
import { ClientFlow, PAUSE_GATE, PAUSE_PENDING, PAUSE_UNSENT, PAUSE_UPSTREAM } from "./client-flow.js";
import { framingHeaders, rewriteRequestHeaders, rewriteResponseHeaders, writeHead, type ForwardedFor } from "./headers.js";
import { Framing, HttpParseError, parseRequestHead, scanHead, type RequestHead, type ResponseHead } from "./http1-parser.js";
import type { ProxyLimits } from "./limits.js";
import { errorResponse, jsonResponse } from "./responses.js";
import { UPSTREAM_IDLE_MS, UpstreamConnection, type UpstreamOwner } from "./upstream-connection.js";
import type { Upstream } from "./upstream.js";

/** What a connection needs from the replica. */
export interface ConnectionContext {
  /** Decides a parsed request: calls `forward`, `respond`/`respondError`, or `hold` then one of those later. */
  route(conn: ClientConnection, req: RequestHead): void;
  /** A WebSocket (or other upgrade) was spliced; the returned function is called when it closes. */
  spliced(conn: ClientConnection, record: StoredSandbox): () => void;
  /** The connection closed. */
  closed(conn: ClientConnection): void;
  readonly accessLog: AccessLog;
  /** The replica is stopping: answer what is in flight, then close. */
  stopping: boolean;
  /** A coarse clock (ms), updated by the replica's sweep. */
  clock: number;
  readonly limits: ProxyLimits;
  /** `["Keep-Alive", "timeout=<idle seconds>"]`: appended to every answer that keeps the connection open. */
  readonly keepAlive: readonly string[];
}

/** After the proxy closed its side, a client that does not close its own is cut after this long at most. */
const LINGER_MS = 5_000;
/** Bytes read ahead of the request being answered (pipelining) before reading stops. */
const MAX_PENDING_BYTES = 256 * 1024;
/** A first body part up to this size is copied behind the response head (one write). */
const SMALL_BODY_BYTES = 16 * 1024;

const State = { Head: 0, Gate: 1, Exchange: 2, Spliced: 3, Closed: 4 } as const;

/** A client-safe message for a failed upstream: names the sandbox port, never the internal address. */
export function upstreamFailure(err: NodeJS.ErrnoException, sandboxPort: number): string {
  if (err instanceof HttpParseError) return `sandbox port ${sandboxPort} sent a malformed response`;
  const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH") return `sandbox port ${sandboxPort} refused the connection`;
  return `sandbox port ${sandboxPort} failed: ${code ?? "error"}`;
}

/** One accepted client socket and its (at most one) request in flight. */
export class ClientConnection implements UpstreamOwner {
  #state: number = State.Head;
  /** Client bytes read but not yet consumed (the rest of a head, a body, pipelined requests). */
  #buf: Buffer | null = null;
  /** Where to resume looking for the end of a head in `#buf`. */
  #scanFrom = 0;
  readonly #flow: ClientFlow;
  #processing = false;
  /** Clock when the connection last became idle (accepted, or an exchange finished). */
  #since: number;
  /** Clock when the first byte of the head being read arrived. */
  #headSince = 0;
  /** Clock of the last client byte read, or of the last resume (a paused client is not late). */
  #lastRead = 0;
  /** Clock of the last sign of progress upstream: request bytes sent, response bytes received. */
  #upstreamSince = 0;
  readonly #fwd: ForwardedFor;
  #upstream: UpstreamConnection | null = null;
  #closeSplice: (() => void) | null = null;

  // The request in flight.
  #req: RequestHead | null = null;
  /** The bytes `#req` was parsed from (its head starts at 0). */
  #reqBuf: Buffer | null = null;
  readonly #reqBody = new BodyFramer();
  #sandboxId: string | null = null;
  #sandboxPort: number | null = null;
  #record: StoredSandbox | null = null;
  /** The rewritten head, kept to replay a body-less request once on a fresh socket. */
  #upstreamHead: Buffer | null = null;
  #replayable = false;
  #responseStarted = false;
  #responseDone = false;
  /** Close the connection once this response is written. */
  #closeAfter = false;
  #clientEnded = false;
  #status = 0;
  #bytes = 0;
  #startedAt = 0;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: ConnectionContext,
  ) {
    this.#since = ctx.clock;
    // Time spent paused is not the client's delay.
    this.#flow = new ClientFlow(socket, ctx, () => void (this.#lastRead = this.#headSince = ctx.clock));
    this.#fwd = { clientIp: socket.remoteAddress ?? "unknown", proto: "http" };
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("end", () => this.#onEnd());
    socket.on("drain", () => this.#onDrain());
    socket.on("error", () => socket.destroy());
    socket.on("close", () => this.#onClose());
  }

  /** Between requests with nothing buffered: safe to close at once. */
  get idle(): boolean {
    return this.#state === State.Head && this.#buf === null;
  }

  /** Spliced (WebSocket): not waited for on stop. */
  get spliced(): boolean {
    return this.#state === State.Spliced;
  }

  /** Applies the timeouts on the replica's periodic sweep (`now`: the coarse clock). */
  sweep(now: number): void {
    const limits = this.ctx.limits;
    const flow = this.#flow;
    if (flow.waitingOnClient) {
      // A client that takes nothing of its answers for the idle timeout is cut.
      if (flow.stuck(now, limits.idleTimeoutMs)) this.destroy();
      return;
    }
    switch (this.#state) {
      case State.Head: {
        if (this.#buf === null) {
          if (now - this.#since > limits.idleTimeoutMs) return this.destroy();
        } else if (flow.paused === 0 && now - this.#headSince > limits.headerTimeoutMs) return this.#reject(408, "request head not received in time");
        const up = this.#upstream;
        if (up !== null && now - up.idleSince > UPSTREAM_IDLE_MS) {
          this.#upstream = null;
          up.destroy();
        }
        return;
      }
      case State.Exchange: {
        if (this.#responseDone) return;
        // A client that keeps the proxy waiting for its body (while it could send).
        if (!this.#reqBody.done && flow.paused === 0 && now - this.#lastRead > limits.bodyTimeoutMs) {
          return this.#reject(408, "request body not received in time");
        }
        // A sandbox that keeps the client waiting (unless the client is what holds it back).
        if (!flow.upstreamPaused && now - this.#upstreamSince > limits.upstreamTimeoutMs) this.#upstreamTimedOut();
        return;
      }
    }
  }

  #upstreamTimedOut(): void {
    const up = this.#upstream;
    this.#upstream = null;
    up?.destroy();
    if (this.#responseStarted) return this.destroy();
    this.#closeAfter = true;
    this.#respond(504, null, `sandbox port ${this.#sandboxPort ?? 0} did not answer in time`, undefined);
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---- Reading requests -------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#state === State.Closed) return;
    this.#lastRead = this.ctx.clock;
    if (this.#buf === null) {
      if (this.#state === State.Head) this.#headSince = this.#lastRead;
      this.#buf = chunk;
    } else this.#buf = Buffer.concat([this.#buf, chunk]);
    this.#process();
  }

  /** Consumes buffered client bytes as far as the current state allows. */
  #process(): void {
    if (this.#processing) return;
    this.#processing = true;
    try {
      while (this.#buf !== null && !this.#flow.unsent) {
        const state = this.#state;
        if (state === State.Head) {
          if (!this.#readHead()) break;
        } else if (state === State.Exchange && !this.#reqBody.done) this.#forwardBody();
        else if (state === State.Spliced) {
          const buf = this.#buf;
          this.#buf = null;
          if (this.#upstream !== null && !this.#upstream.write(buf)) this.#flow.pause(PAUSE_UPSTREAM);
        } else break;
      }
      if (this.#buf !== null && this.#buf.length > MAX_PENDING_BYTES && this.#state !== State.Head) this.#flow.pause(PAUSE_PENDING);
      if (this.#clientEnded && this.#state === State.Head && !this.#flow.unsent) this.#endOfRequests();
    } catch (err) {
      // Whatever a client sends, the process survives: a parse error is its
      // 400 (or 431); anything else is answered as malformed too.
      this.#buf = null;
      if (err instanceof HttpParseError) this.#reject(err.status, err.message);
      else this.#reject(400, "malformed request");
    } finally {
      this.#processing = false;
    }
  }

  /** Parses one request head from the buffer and routes it; false when more bytes are needed. */
  #readHead(): boolean {
    let buf = this.#buf!;
    // Empty lines before a request line are ignored (RFC 9112 section 2.2).
    let start = 0;
    while (start + 1 < buf.length && buf[start] === 13 && buf[start + 1] === 10) start += 2;
    if (start > 0) {
      buf = buf.subarray(start);
      this.#buf = buf.length === 0 ? null : buf;
      this.#scanFrom = 0;
      if (this.#buf === null) return false;
    }
    const end = scanHead(buf, this.#scanFrom, true);
    if (end === -1) {
      this.#scanFrom = buf.length;
      return false;
    }
    const req = parseRequestHead(buf, 0, end);
    this.#scanFrom = 0;
    this.#buf = end + 4 < buf.length ? buf.subarray(end + 4) : null;
    this.#reqBuf = buf;
    this.#begin(req);
    this.ctx.route(this, req);
    return true;
  }

  #begin(req: RequestHead): void {
    this.#req = req;
    this.#reqBody.reset(req.framing, req.contentLength, 400);
    this.#sandboxId = null;
    this.#sandboxPort = null;
    this.#record = null;
    this.#responseStarted = false;
    this.#responseDone = false;
    this.#closeAfter = req.close;
    this.#status = 0;
    this.#bytes = 0;
    if (this.ctx.accessLog.enabled) this.#startedAt = performance.now();
  }

  #forwardBody(): void {
    const buf = this.#buf!;
    const end = this.#reqBody.advance(buf, 0);
    this.#buf = end < buf.length ? buf.subarray(end) : null;
    if (end > 0 && this.#upstream !== null) {
      this.#upstreamSince = this.ctx.clock;
      if (!this.#upstream.write(end === buf.length ? buf : buf.subarray(0, end))) this.#flow.pause(PAUSE_UPSTREAM);
    }
  }

  #onDrain(): void {
    if (this.#flow.releaseUpstream()) {
      this.#upstreamSince = this.ctx.clock;
      this.#upstream?.resume();
    }
    if (this.#flow.unsent) {
      this.#flow.unpause(PAUSE_UNSENT);
      this.#process();
    }
  }

  #onEnd(): void {
    this.#clientEnded = true;
    // A request cut short can never be completed.
    if (this.#state === State.Exchange && !this.#reqBody.done) return this.destroy();
    if (this.#state === State.Spliced) {
      this.#upstream?.socket.end();
      return;
    }
    // Requests already received are answered first (`#endOfRequests` once they are).
    if (this.#state === State.Head) this.#process();
  }

  /** The client sent its last byte and every complete request is answered: close, or refuse a head cut short. */
  #endOfRequests(): void {
    const buf = this.#buf;
    if (buf !== null) {
      let i = 0;
      while (i < buf.length && (buf[i] === 13 || buf[i] === 10)) i++;
      if (i < buf.length) return this.#reject(400, "request head cut short");
    }
    this.#end();
  }

  #onClose(): void {
    const wasExchange = this.#state === State.Exchange || this.#state === State.Gate;
    this.#state = State.Closed;
    this.#buf = null;
    this.#upstream?.destroy();
    this.#upstream = null;
    if (wasExchange && !this.#responseDone) this.#log(this.#responseStarted ? this.#status : 499);
    this.#closeSplice?.();
    this.#closeSplice = null;
    this.ctx.closed(this);
  }

  // ---- The router's answers --------------------------------------------

  /** The target named by the request, for the access log. */
  setTarget(sandboxId: string, port: number): void {
    this.#sandboxId = sandboxId;
    this.#sandboxPort = port;
  }

  /** The router decides asynchronously: stop reading meanwhile. */
  hold(): void {
    this.#state = State.Gate;
    this.#flow.pause(PAUSE_GATE);
  }

  /** Whether the connection can still be answered (after an asynchronous decision). */
  get open(): boolean {
    return this.#state === State.Gate && !this.socket.destroyed;
  }

  /** Answers the request with the uniform JSON error. */
  respondError(status: number, message: string, retryAfterS?: number): void {
    this.#respond(status, null, message, retryAfterS);
  }

  /** Answers the request with a JSON body. */
  respondJson(status: number, body: string): void {
    this.#respond(status, body, "", undefined);
  }

  #respond(status: number, body: string | null, message: string, retryAfterS: number | undefined): void {
    const req = this.#req!;
    // A body the router did not read, or an upgrade, leaves the connection unusable.
    const close = this.#closeAfter || !this.#reqBody.done || req.upgrade || this.ctx.stopping;
    const keepAlive = close ? undefined : this.ctx.keepAlive;
    let text = body === null ? errorResponse(status, message, close, retryAfterS, keepAlive) : jsonResponse(status, body, close, undefined, keepAlive);
    if (req.method === "HEAD") text = text.slice(0, text.indexOf("\r\n\r\n") + 4);
    // A pre-connection for a request answered here (resume refused) is not kept around.
    if (this.#upstream !== null && this.#upstream.preopened && this.#upstream.served === 0) {
      this.#upstream.destroy();
      this.#upstream = null;
    }
    this.#status = status;
    this.#bytes = Buffer.byteLength(text);
    this.#responseStarted = true;
    this.#responseDone = true;
    this.#flow.write(text);
    this.#log(status);
    if (close) return this.#end();
    this.#flow.unpause(PAUSE_GATE);
    this.#finish();
  }

  /**
   * Opens the upstream socket while the request waits for an auto-resume: a
   * frozen sandbox's kernel still completes the TCP handshake, so once the
   * sandbox runs the request goes out at once, and its server accepts the
   * connection while the node is still writing the `running` record. Not
   * done when a reusable socket to that address is already pinned.
   */
  preconnect(upstream: Upstream): void {
    const up = this.#upstream;
    if (up !== null && up.canReuse(upstream.host, upstream.port)) return;
    up?.destroy();
    const early = (this.#upstream = new UpstreamConnection(upstream.host, upstream.port, this));
    early.preopened = true;
  }

  /** Forwards the request to `upstream` (`path`: the request target upstream). */
  forward(upstream: Upstream, path: string, record: StoredSandbox): void {
    const req = this.#req!;
    this.#record = record;
    const { keep, append } = rewriteRequestHeaders(req.raw, this.#fwd, req.upgrade, req);
    const startLine = path === req.url ? null : `${req.method} ${path} HTTP/1.${req.minor}`;
    const head = (this.#upstreamHead = writeHead(this.#reqBuf!, req, startLine, keep, append, false, null));
    this.#replayable = this.#reqBody.done && !req.upgrade;
    let up = this.#upstream;
    if (up === null || !up.canReuse(upstream.host, upstream.port)) {
      up?.destroy();
      this.#upstream = null;
      try {
        up = this.#upstream = new UpstreamConnection(upstream.host, upstream.port, this);
      } catch (err) {
        // net.connect refuses some addresses synchronously (a port out of range in a record, say).
        return this.#respond(502, null, upstreamFailure(err as NodeJS.ErrnoException, this.#sandboxPort ?? 0), undefined);
      }
    }
    this.#state = State.Exchange;
    // The flow's `upstreamPaused` is kept: a reused socket may still wait for the client's drain.
    this.#upstreamSince = this.#lastRead = this.ctx.clock;
    up.send(head, req.method === "HEAD", req.upgrade, req.minor === 0 || req.upgrade);
    this.#flow.unpause(PAUSE_GATE);
    this.#process();
  }

  // ---- Upstream events (UpstreamOwner) ------------------------------------

  upstreamInterim(res: ResponseHead, buf: Buffer): void {
    this.#upstreamSince = this.ctx.clock;
    const head = writeHead(buf, res, res.minor === 1 ? null : `HTTP/1.1${res.statusRest}`, rewriteResponseHeaders(res.raw), framingHeaders(res), false, null);
    this.#bytes += head.length;
    this.#flow.relay(head, this.#upstream);
  }

  upstreamResponse(res: ResponseHead, buf: Buffer, body: Buffer | null): void {
    this.#responseStarted = true;
    this.#status = res.status;
    this.#upstreamSince = this.ctx.clock;
    if (res.framing === Framing.UntilClose && this.#req!.method !== "HEAD" && res.status !== 204 && res.status !== 304) this.#closeAfter = true;
    if (!this.#reqBody.done || this.ctx.stopping || this.#req!.upgrade) this.#closeAfter = true;
    // Framing spelled canonically; Keep-Alive announces the idle timeout when the connection stays open.
    const framing = framingHeaders(res);
    const append = this.#closeAfter ? framing : framing.length === 0 ? (this.ctx.keepAlive as string[]) : [...framing, ...this.ctx.keepAlive];
    // Head and a small first body part in one buffer: one plain write (no cork, no writev).
    const small = body !== null && body.length <= SMALL_BODY_BYTES ? body : null;
    const out = writeHead(buf, res, res.minor === 1 ? null : `HTTP/1.1${res.statusRest}`, rewriteResponseHeaders(res.raw), append, this.#closeAfter, small);
    this.#bytes += out.length;
    this.#flow.relay(out, this.#upstream);
    if (body !== null && small === null) this.upstreamBody(body);
  }

  upstreamBody(body: Buffer): void {
    this.#bytes += body.length;
    this.#upstreamSince = this.ctx.clock;
    this.#flow.relay(body, this.#upstream);
  }

  upstreamDone(up: UpstreamConnection, reusable: boolean): void {
    if (up !== this.#upstream) return;
    if (!reusable) this.#upstream = null;
    else up.idleSince = this.ctx.clock;
    if (this.#state === State.Spliced) return this.#end();
    this.#responseDone = true;
    this.#log(this.#status);
    if (this.#closeAfter || !this.#reqBody.done) {
      this.#upstream?.destroy();
      this.#upstream = null;
      return this.#end();
    }
    this.#finish();
  }

  upstreamSwitched(head: string, rest: Buffer | null): void {
    this.#status = 101;
    this.#responseStarted = true;
    this.#bytes += head.length;
    this.#log(101);
    this.#state = State.Spliced;
    this.#closeSplice = this.ctx.spliced(this, this.#record!);
    this.#flow.write(Buffer.from(head, "latin1"));
    if (rest !== null) this.upstreamBody(rest);
    this.#flow.unpause(PAUSE_PENDING);
    this.#process();
  }

  upstreamFailed(up: UpstreamConnection, err: NodeJS.ErrnoException): void {
    if (up !== this.#upstream) return;
    this.#upstream = null;
    if (this.#state === State.Spliced) return this.#end();
    if (this.#state !== State.Exchange || this.#responseDone) return;
    // The keep-alive race: a reused socket that the sandbox closed as it was
    // reused. Replay once when nothing was sent but the head.
    if (!up.answered && this.#replayable && (up.served > 0 || up.preopened)) {
      this.#replayable = false;
      const fresh = (this.#upstream = new UpstreamConnection(up.host, up.port, this));
      fresh.send(this.#upstreamHead!, this.#req!.method === "HEAD", false, this.#req!.minor === 0);
      return;
    }
    if (this.#responseStarted) return this.destroy();
    this.#respond(502, null, upstreamFailure(err, this.#sandboxPort ?? 0), undefined);
  }

  upstreamDrained(): void {
    this.#upstreamSince = this.ctx.clock;
    this.#flow.unpause(PAUSE_UPSTREAM);
  }

  pendingWrites(): boolean {
    return this.socket.writableLength > 0;
  }

  // ---- Between requests ---------------------------------------------------

  /** The exchange is over (request and response complete): read the next request, maybe already buffered. */
  #finish(): void {
    this.#state = State.Head;
    this.#req = null;
    this.#reqBuf = null;
    this.#upstreamHead = null;
    this.#record = null;
    this.#since = this.ctx.clock;
    this.#headSince = this.#since;
    if (this.ctx.stopping && this.#buf === null) return this.#end();
    // Nothing is waiting on the old upstream's drain any more (it may be gone).
    this.#flow.unpause(PAUSE_PENDING | PAUSE_UPSTREAM);
    this.#process();
  }

  /** Ends the connection gracefully once written (half-close, then close when the client does). */
  #end(): void {
    this.#state = State.Closed;
    this.#buf = null;
    this.socket.end();
    // A client that never closes its side (or never reads the rest) is cut after a while.
    this.socket.setTimeout(Math.min(LINGER_MS, this.ctx.limits.idleTimeoutMs), () => this.destroy());
  }

  /** A malformed, late or cut-short request: answered, logged, then the connection is closed. */
  #reject(status: number, message: string): void {
    if (this.#state === State.Exchange && this.#responseStarted) return this.destroy();
    this.#upstream?.destroy();
    this.#upstream = null;
    this.#status = status;
    const text = errorResponse(status, message, true);
    this.#bytes = Buffer.byteLength(text);
    this.socket.write(text);
    // A refusal before a head was parsed is logged without method and path.
    if (this.#req === null || !this.#responseDone) {
      if (this.#req === null) this.#startedAt = performance.now();
      this.#responseDone = true;
      this.#log(status);
    }
    this.#end();
  }

  #log(status: number): void {
    const log = this.ctx.accessLog;
    if (!log.enabled) return;
    const req = this.#req;
    log.write({
      sandboxId: req === null ? null : this.#sandboxId,
      port: req === null ? null : this.#sandboxPort,
      method: req?.method,
      path: req === null ? "" : pathWithoutQuery(req.url),
      status,
      durationMs: Math.round((performance.now() - this.#startedAt) * 100) / 100,
      bytes: this.#bytes,
    });
  }
}
