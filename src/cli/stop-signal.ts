/**
 * How server commands (`corral node`, `proxy`, `ui`) learn that they should
 * stop: the first SIGINT or SIGTERM. Later ones are ignored while the stop
 * runs: a Ctrl-C reaches every process of `corral up`'s process group and
 * `corral up` then sends each child a SIGTERM, which must not cut a graceful
 * stop (lease released, writes flushed) short.
 */
export function nextStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.on("SIGINT", resolve);
    process.on("SIGTERM", resolve);
  });
}
