/**
 * Loopback ports for process sandboxes. A cursor walks the range from a random
 * start, skipping ports this node has handed out, and probes each candidate
 * with a bind so a port some other program holds is skipped too. The probe is
 * not a reservation (another program may bind in between): the process driver
 * checks that the sandbox's process is alive and holds its socket once the
 * port is ready (`holdsSocket`) and retries on a fresh port when it is not.
 */
import { randomInt } from "node:crypto";
import net from "node:net";

/** Default range: below Linux's ephemeral range (32768-60999), so outgoing connections never take them. */
export const DEFAULT_PORT_RANGE: readonly [number, number] = [10_000, 32_000];

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen({ host: "127.0.0.1", port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** Hands out free loopback ports from `[first, last]` (inclusive). */
export class PortAllocator {
  readonly #first: number;
  readonly #last: number;
  readonly #taken = new Set<number>();
  #cursor: number;

  constructor([first, last]: readonly [number, number] = DEFAULT_PORT_RANGE) {
    if (!(Number.isInteger(first) && Number.isInteger(last) && first >= 1 && last <= 65535 && first <= last)) {
      throw new RangeError(`invalid port range [${first}, ${last}]`);
    }
    this.#first = first;
    this.#last = last;
    // A random start: several nodes (or drivers) on one machine rarely probe the same ports at once.
    this.#cursor = first + randomInt(last - first + 1);
  }

  /** A port nobody on 127.0.0.1 holds right now; marked taken until {@link release}. */
  async allocate(): Promise<number> {
    const size = this.#last - this.#first + 1;
    for (let tried = 0; tried < size; tried++) {
      const port = this.#cursor;
      this.#cursor = port === this.#last ? this.#first : port + 1;
      if (this.#taken.has(port)) continue;
      // Mark before the async probe so concurrent allocations never pick the same port.
      this.#taken.add(port);
      if (await canBind(port)) return port;
      this.#taken.delete(port);
    }
    throw new Error(`no free port in ${this.#first}-${this.#last} (${this.#taken.size} held by sandboxes)`);
  }

  /** Marks a port as held (an adopted sandbox's). */
  hold(port: number): void {
    this.#taken.add(port);
  }

  /** Returns a port to the pool. */
  release(port: number): void {
    this.#taken.delete(port);
  }
}
