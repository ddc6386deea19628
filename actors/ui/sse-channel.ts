/**
 * One Server-Sent Events response. While a snapshot is being built for it the
 * channel holds live messages back and sends them after the snapshot, so the
 * browser never applies a snapshot older than an event it already has (it
 * drops replayed events whose revision it holds, see `isNewer`).
 */
import type { ServerResponse } from "node:http";
import type { StreamMessages } from "./wire.js";

/** How long the browser's EventSource waits before reconnecting after the UI server drops it. */
const RETRY_MS = 1000;

/** Formats one SSE frame. */
export function sseFrame<K extends keyof StreamMessages>(event: K, data: StreamMessages[K]): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** An open `text/event-stream` response. */
export class SseChannel {
  #held: string[] | null = null;
  #closed = false;

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      Connection: "keep-alive",
      // Proxies in front of the UI must not buffer the stream.
      "X-Accel-Buffering": "no",
    });
    res.write(`retry: ${RETRY_MS}\n\n`);
    res.on("close", () => {
      this.#closed = true;
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Registers `fn` to run once when the browser goes away. */
  onClose(fn: () => void): void {
    this.res.once("close", fn);
  }

  /** Sends (or holds, during a snapshot) one message. */
  send<K extends keyof StreamMessages>(event: K, data: StreamMessages[K]): void {
    this.#write(sseFrame(event, data));
  }

  /** A comment line: keeps idle connections open through proxies. */
  ping(): void {
    if (!this.#held) this.#write(": ping\n\n");
  }

  /** Starts holding live messages back (a snapshot is being built). */
  hold(): void {
    this.#held ??= [];
  }

  /** Sends `first` (the snapshot frame, if one was built), then every held message, and stops holding. */
  release(first: string | null): void {
    const held = this.#held ?? [];
    this.#held = null;
    if (first !== null) this.#write(first);
    for (const frame of held) this.#write(frame);
  }

  /** Ends the response. */
  end(): void {
    if (!this.#closed) this.res.end();
    this.#closed = true;
  }

  #write(frame: string): void {
    if (this.#closed) return;
    if (this.#held) this.#held.push(frame);
    else this.res.write(frame);
  }
}
