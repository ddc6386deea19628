/**
 * One TCP connection to a sandbox port, pinned to one client connection
 * (`client-connection.ts`): it sends request heads and bodies as given, and
 * parses what comes back just enough to frame it (status, headers, body
 * end), handing every byte to its owner. Reused for the owner's next request
 * to the same address while it is alive; closed after `UPSTREAM_IDLE_MS`
 * idle (below the usual server keep-alive timeouts, so that the sandbox
 * rarely closes a socket just as it is reused).
 */
import net from "node:net";
import { BodyFramer } from "./body-framing.js";
import { Framing, HttpParseError, parseResponseHead, scanHead, type ResponseHead } from "./http1-parser.js";

/** Idle upstream sockets close after this long (the former undici pool's `keepAliveTimeout`). */
export const UPSTREAM_IDLE_MS = 4_000;

/** What an upstream connection reports to the client connection that owns it. */
export interface UpstreamOwner {
  /** A 1xx interim response, parsed from `buf` (its head starts at 0). */
  upstreamInterim(res: ResponseHead, buf: Buffer): void;
  /** The final response's head, parsed from `buf` (its head starts at 0), and its first body bytes. */
  upstreamResponse(res: ResponseHead, buf: Buffer, body: Buffer | null): void;
  /** More body bytes. */
  upstreamBody(body: Buffer): void;
  /** The response ended; `reusable`: this connection may carry the next request. */
  upstreamDone(up: UpstreamConnection, reusable: boolean): void;
  /** 101: the head to relay as is, and bytes that followed it. */
  upstreamSwitched(head: string, rest: Buffer | null): void;
  /** The connection failed or closed before the response ended. */
  upstreamFailed(up: UpstreamConnection, err: NodeJS.ErrnoException): void;
  /** The socket can take more (after a `write` returned false). */
  upstreamDrained(): void;
  /** Whether writes to the client are queued (so a buffer they view is still in use). */
  pendingWrites(): boolean;
}

const State = { Idle: 0, Head: 1, Body: 2, Spliced: 3, Dead: 4 } as const;

/**
 * Upstream sockets read into one shared buffer (net's `onread`), not a
 * fresh allocation per read: a read is handled synchronously, and bytes kept
 * past it are copied. When a write of a view of it was queued instead of
 * written at once, the buffer is lent to that write and the next read gets
 * a new one. Saves an allocation, a Buffer and the stream machinery per read.
 */
const READ_BUFFER_BYTES = 64 * 1024;
let readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
let readBufferLent = false;
function nextReadBuffer(): Buffer {
  if (readBufferLent) {
    readBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    readBufferLent = false;
  }
  return readBuffer;
}

/** The error a connection that closes before answering reports. */
function closedError(): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error("upstream closed the connection");
  err.code = "ECONNRESET";
  return err;
}

/** A connection to `host:port` carrying one request at a time. */
export class UpstreamConnection {
  readonly socket: net.Socket;
  /** Requests whose response completed on this socket (more than 0: a reused socket). */
  served = 0;
  /** Bytes of the current response have arrived. */
  answered = false;
  /** Coarse clock value when it became idle. */
  idleSince = 0;
  #state: number = State.Idle;
  #buf: Buffer | null = null;
  readonly #framer = new BodyFramer();
  #headRequest = false;
  #upgrade = false;
  #reusable = true;
  #failed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly owner: UpstreamOwner,
  ) {
    this.socket = net.connect({
      host,
      port,
      noDelay: true,
      onread: {
        buffer: nextReadBuffer,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.#onData((buf as Buffer).subarray(0, n));
          // A view of the shared buffer still queued on the client socket: lend it.
          if (this.owner.pendingWrites()) readBufferLent = true;
          return true;
        },
      },
    });
    this.socket.on("end", () => this.#onEnd());
    this.socket.on("error", (err: NodeJS.ErrnoException) => this.#fail(err));
    this.socket.on("close", () => this.#fail(closedError()));
    this.socket.on("drain", () => this.owner.upstreamDrained());
  }

  /**
   * Opened ahead of its first request (`ClientConnection.preconnect`): like a
   * reused socket, it may have been closed by the sandbox before the request
   * went out, so a body-less request that finds it dead is replayed once.
   */
  preopened = false;

  /**
   * Alive, connected and idle: may carry a request to `host:port`. A socket
   * still connecting is not taken: a pre-connection to a stopped sandbox's old
   * address may be waiting for SYN retries (seconds), not for a handshake.
   */
  canReuse(host: string, port: number): boolean {
    return this.#state === State.Idle && this.#reusable && this.port === port && this.host === host && !this.socket.destroyed && !this.socket.connecting;
  }

  /**
   * Sends a request head. `headRequest`: a HEAD request (the
   * response has no body); `upgrade`: a 101 splices the connections;
   * `last`: HTTP/1.0 or an upgrade, the socket is not reused afterwards.
   */
  send(head: Buffer, headRequest: boolean, upgrade: boolean, last: boolean): boolean {
    this.#state = State.Head;
    this.#headRequest = headRequest;
    this.#upgrade = upgrade;
    this.answered = false;
    if (last) this.#reusable = false;
    return this.socket.write(head);
  }

  /** Request body bytes (or, once spliced, anything); false: wait for `upstreamDrained`. */
  write(chunk: Buffer): boolean {
    return this.socket.write(chunk);
  }

  destroy(): void {
    this.#state = State.Dead;
    this.socket.destroy();
  }

  #onData(chunk: Buffer): void {
    this.answered = true;
    try {
      switch (this.#state) {
        case State.Body:
          return this.#body(chunk, 0);
        case State.Head:
          return this.#head(chunk);
        case State.Spliced:
          return this.owner.upstreamBody(chunk);
        default:
          // Bytes while no request is out: the connection is out of step; drop it.
          this.#reusable = false;
          this.destroy();
      }
    } catch (err) {
      this.#fail(err as NodeJS.ErrnoException);
    }
  }

  #head(chunk: Buffer): void {
    let buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    this.#buf = null;
    for (;;) {
      const end = scanHead(buf, 0, false);
      if (end === -1) {
        // Kept past this read: a copy (the read buffer is reused).
        this.#buf = Buffer.from(buf);
        return;
      }
      const res = parseResponseHead(buf, 0, end);
      const bodyStart = end + 4;
      const rest = bodyStart < buf.length ? buf.subarray(bodyStart) : null;
      if (res.status === 101 && this.#upgrade) {
        this.#state = State.Spliced;
        this.#reusable = false;
        return this.owner.upstreamSwitched(buf.toString("latin1", 0, bodyStart), rest);
      }
      if (res.status < 200) {
        if (res.status === 101) throw new HttpParseError(502, "malformed upstream response: 101 without an upgrade");
        this.owner.upstreamInterim(res, buf);
        if (rest === null) return;
        buf = rest;
        continue;
      }
      if (res.close) this.#reusable = false;
      const framing = this.#headRequest || res.status === 204 || res.status === 304 ? Framing.None : res.framing;
      if (framing === Framing.UntilClose) this.#reusable = false;
      this.#framer.reset(framing, res.contentLength, 502);
      this.#state = State.Body;
      if (rest === null || this.#framer.done) {
        this.owner.upstreamResponse(res, buf, null);
        if (rest !== null) this.#reusable = false; // bytes after a complete response: out of step
        if (this.#framer.done) this.#complete();
        return;
      }
      const bodyEnd = this.#framer.advance(rest, 0);
      this.owner.upstreamResponse(res, buf, bodyEnd === rest.length ? rest : rest.subarray(0, bodyEnd));
      if (this.#framer.done) {
        if (bodyEnd < rest.length) this.#reusable = false;
        this.#complete();
      }
      return;
    }
  }

  #body(chunk: Buffer, start: number): void {
    const end = this.#framer.advance(chunk, start);
    if (end > start) this.owner.upstreamBody(start === 0 && end === chunk.length ? chunk : chunk.subarray(start, end));
    if (this.#framer.done) {
      if (end < chunk.length) this.#reusable = false;
      this.#complete();
    }
  }

  #complete(): void {
    this.#state = State.Idle;
    this.served++;
    const reusable = this.#reusable && !this.socket.destroyed;
    if (!reusable) this.destroy();
    this.owner.upstreamDone(this, reusable);
  }

  #onEnd(): void {
    if (this.#state === State.Body && this.#framer.framing === Framing.UntilClose) {
      this.#reusable = false;
      return this.#complete();
    }
    if (this.#state === State.Spliced) return this.owner.upstreamDone(this, false);
    this.#fail(closedError());
  }

  /**
   * Reports the first failure or close, once; the owner ignores it when this
   * connection no longer carries its request (an idle socket that closes just leaves).
   */
  #fail(err: NodeJS.ErrnoException): void {
    this.#state = State.Dead;
    this.socket.destroy();
    if (this.#failed) return;
    this.#failed = true;
    this.owner.upstreamFailed(this, err);
  }

  /** Stops reading (the client cannot take more). */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }
}
