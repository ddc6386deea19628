/**
 * HTTP forwarding to a sandbox port through undici: HTTP/1.1 keep-alive pools
 * per upstream (one `Agent`, one pool per origin), request and response
 * bodies streamed with backpressure both ways (a 100 MB body costs a few
 * socket buffers, never its size).
 *
 * Why undici's `dispatch` with a handler object, not `http.request` nor
 * `undici.request`: measured on the bench (docs/proxy.md), node's
 * `http.request` + `pipe` costs about twice the CPU per request, and
 * `undici.request` adds a Readable per response. The handler methods used
 * here (`onConnect`/`onHeaders`/`onData`/`onComplete`/`onError`) are the
 * shape undici's own HTTP/1.1 client calls; its newer controller API is an
 * adapter over them that also parses every header into an object, which the
 * proxy does not need (it rewrites the raw header list).
 */
import type http from "node:http";
import { Agent, type Dispatcher } from "undici";
import { clientResponseHeaders, upstreamRequestHeaders, type ForwardedFor } from "./headers.js";
import { sendError } from "./responses.js";
import type { Upstream } from "./upstream.js";

/**
 * The keep-alive pools to upstreams. No header or body timeouts: a sandbox
 * may legitimately think for minutes or stream a long response (SSE, logs);
 * a client that gives up closes its connection, which aborts the upstream
 * request. Idle upstream sockets close after `keepAliveTimeout`, below the
 * common server defaults, so that the pool rarely reuses a socket the
 * sandbox is closing.
 */
export function createUpstreamDispatcher(): Agent {
  return new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 30_000, headersTimeout: 0, bodyTimeout: 0, connect: { timeout: 10_000 } });
}

/** What the upstream is told about the client hop. */
export function forwardedFor(req: http.IncomingMessage): ForwardedFor {
  return { clientIp: req.socket.remoteAddress ?? "unknown", proto: "http" };
}

/** A client-safe message for a failed upstream: names the sandbox port, never the internal address. */
export function upstreamFailure(err: NodeJS.ErrnoException, sandboxPort: number): string {
  const code = err.code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === "ECONNREFUSED" || code === "EHOSTUNREACH" || code === "ENETUNREACH") return `sandbox port ${sandboxPort} refused the connection`;
  return `sandbox port ${sandboxPort} failed: ${code ?? "error"}`;
}

function latin1(raw: Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw[i]!.toString("latin1");
  return out;
}

/** A request without a body: replayable when a pooled socket turns out to be dead. */
function hasNoBody(req: http.IncomingMessage): boolean {
  return req.headers["content-length"] === undefined && req.headers["transfer-encoding"] === undefined;
}

/**
 * One forwarded request: dispatches it and streams the upstream's response
 * into the client's. One object per request (cheaper than a set of
 * closures). Undici calls the handler methods in the order onConnect ->
 * onHeaders -> onData* -> onComplete, or onError at any point.
 */
class ForwardedRequest implements Dispatcher.DispatchHandler {
  #abort: ((err?: Error) => void) | undefined;
  #resume: (() => void) | undefined;
  #started = false;
  /** Whether a dead pooled socket may still be retried (requests without a body, once). */
  #mayReplay: boolean;

  constructor(
    private readonly res: http.ServerResponse,
    private readonly options: Dispatcher.DispatchOptions,
    private readonly dispatcher: Dispatcher,
    private readonly sandboxPort: number,
  ) {
    this.#mayReplay = options.body === null;
    res.on("drain", () => this.#resume?.());
    // A client that goes away mid-request frees the upstream socket too.
    res.once("close", () => {
      if (!res.writableFinished) this.#abort?.();
    });
  }

  dispatch(): void {
    try {
      this.dispatcher.dispatch(this.options, this);
    } catch (err) {
      // undici validates the request synchronously (a header it refuses, say).
      sendError(this.res, 400, `request cannot be forwarded: ${(err as Error).message}`);
    }
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
  }

  onHeaders(statusCode: number, rawHeaders: Buffer[], resume: () => void, statusText: string): boolean {
    if (statusCode < 200) return true; // 1xx: informational, the real answer follows
    this.#started = true;
    this.#resume = resume;
    this.res.writeHead(statusCode, statusText, clientResponseHeaders(latin1(rawHeaders)));
    return true;
  }

  onData(chunk: Buffer): boolean {
    return this.res.write(chunk);
  }

  onComplete(): void {
    this.res.end();
  }

  onError(err: Error): void {
    if (this.res.destroyed) return;
    // The documented keep-alive race: the sandbox closed a pooled socket as it
    // was reused. Replay once when nothing of the request was consumed.
    if (!this.#started && this.#mayReplay && (err as NodeJS.ErrnoException).code === "UND_ERR_SOCKET") {
      this.#mayReplay = false;
      return this.dispatch();
    }
    if (this.#started || this.res.headersSent) return void this.res.destroy();
    sendError(this.res, 502, upstreamFailure(err as NodeJS.ErrnoException, this.sandboxPort));
  }
}

/**
 * Forwards `req` to `upstream` at `path` and streams the answer into `res`.
 * An upstream that refuses or fails before answering is a 502 (the message
 * names the sandbox port, never the internal address).
 */
export function forwardHttp(req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream, path: string, sandboxPort: number, dispatcher: Dispatcher): void {
  const options: Dispatcher.DispatchOptions = {
    origin: `http://${upstream.host}:${upstream.port}`,
    path,
    method: req.method as Dispatcher.HttpMethod,
    headers: upstreamRequestHeaders(req.rawHeaders, forwardedFor(req), false),
    body: hasNoBody(req) ? null : req,
  };
  new ForwardedRequest(res, options, dispatcher, sandboxPort).dispatch();
}
