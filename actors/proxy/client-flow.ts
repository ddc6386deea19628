/**
 * Flow control of one client connection (`client-connection.ts`): when the
 * proxy reads from the client socket, and what it does when the client does
 * not read its answers.
 *
 * Reading is paused for as long as any reason holds (bit flags): the
 * sandbox socket cannot take the request body, the router is deciding,
 * pipelined bytes pile up behind the request in flight, or more than
 * `MAX_UNSENT_BYTES` of answers wait to be sent to the client. Every write
 * to the client goes through {@link ClientFlow.write}, so the proxy's own
 * answers are bounded as forwarded ones are; bytes relayed from a sandbox
 * also pause the sandbox socket as soon as the client socket's buffer is
 * full, until it drains. A client that takes nothing of its answers for the
 * idle timeout is cut ({@link ClientFlow.stuck}).
 */
import type net from "node:net";
import { MAX_UNSENT_BYTES } from "./limits.js";
import type { UpstreamConnection } from "./upstream-connection.js";

/** Why the client socket is paused (bit flags). */
export const PAUSE_UPSTREAM = 1;
export const PAUSE_GATE = 2;
export const PAUSE_PENDING = 4;
/** More than `MAX_UNSENT_BYTES` wait to be sent to the client. */
export const PAUSE_UNSENT = 8;

/** The pause reasons and write backpressure of one client socket. */
export class ClientFlow {
  /** The reasons reading is paused (0: reading). */
  paused = 0;
  /** The upstream socket is paused because the client is not taking the response. */
  upstreamPaused = false;
  /** While writes to the client wait: the least unsent byte count seen, and since when it has not gone down. */
  #unsentMark = 0;
  #unsentSince = 0;

  /**
   * @param clock the connection's coarse clock (ms)
   * @param resumed called when reading resumes after a pause (time spent paused is not the client's delay)
   */
  constructor(
    private readonly socket: net.Socket,
    private readonly clock: { readonly clock: number },
    private readonly resumed: () => void,
  ) {}

  /** Whether answers wait for the client to take them (too many unsent, or a sandbox socket paused for it). */
  get waitingOnClient(): boolean {
    return (this.paused & PAUSE_UNSENT) !== 0 || this.upstreamPaused;
  }

  /** Whether reading is paused because too many answers are unsent. */
  get unsent(): boolean {
    return (this.paused & PAUSE_UNSENT) !== 0;
  }

  pause(reason: number): void {
    if (this.paused === 0) this.socket.pause();
    this.paused |= reason;
  }

  unpause(reason: number): void {
    if ((this.paused & reason) === 0) return;
    this.paused &= ~reason;
    if (this.paused === 0) {
      this.resumed();
      this.socket.resume();
    }
  }

  /** Writes to the client; past `MAX_UNSENT_BYTES` unsent, stops reading from it until they drain. */
  write(data: string | Buffer): boolean {
    const ok = this.socket.write(data);
    if (!ok && this.socket.writableLength > MAX_UNSENT_BYTES && (this.paused & PAUSE_UNSENT) === 0) {
      this.#stalled();
      this.pause(PAUSE_UNSENT);
    }
    return ok;
  }

  /** Relays bytes from the sandbox; when the client cannot take them now, the sandbox socket waits for its drain. */
  relay(data: Buffer, upstream: UpstreamConnection | null): void {
    if (!this.write(data) && !this.upstreamPaused && upstream !== null) {
      this.#stalled();
      this.upstreamPaused = true;
      upstream.pause();
    }
  }

  /** On the client socket's drain: true when the sandbox socket was paused for it (the caller resumes it). */
  releaseUpstream(): boolean {
    if (!this.upstreamPaused) return false;
    this.upstreamPaused = false;
    return true;
  }

  /** On the replica's sweep while {@link waitingOnClient}: true when the client took nothing for `idleTimeoutMs`. */
  stuck(now: number, idleTimeoutMs: number): boolean {
    const unsent = this.socket.writableLength;
    if (unsent < this.#unsentMark) {
      this.#unsentMark = unsent;
      this.#unsentSince = now;
      return false;
    }
    return now - this.#unsentSince > idleTimeoutMs;
  }

  /** Writes to the client started to wait (see `stuck`). */
  #stalled(): void {
    if (this.waitingOnClient) return;
    this.#unsentMark = this.socket.writableLength;
    this.#unsentSince = this.clock.clock;
  }
}
