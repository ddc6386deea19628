/**
 * The contract's floor for the proxy's cold path: the least a proxy keeping
 * the contract does for a request to a paused auto-resume sandbox, with the
 * raw libraries (net, nats.js; no route table, no parser, no gate): take the
 * request, ask the owner to resume (the node floor, contract-floor.ts), open
 * the upstream connection meanwhile (as Corral's replica does), send the
 * request once the owner replied, and relay the answer until the upstream
 * closes. One sandbox, one request per connection; only for the bench.
 *
 * This file is both the floor proxy process (`proxyFloorMain`, run through
 * bench/lib/child.mjs) and the suite's side (`startProxyFloor`).
 */
import { connect } from "@nats-io/transport-node";
import net from "node:net";
import { childArgs, spawnReady, stopChild } from "../lib/procs.js";
import type { SuiteContext } from "../lib/types.js";

/** The floor proxy: `<nats url> <node floor prefix> <sandbox host> <sandbox port>`; prints "port <n>" once it listens. */
export async function proxyFloorMain([natsUrl, prefix, host, port]: string[]): Promise<void> {
  const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
  const server = net.createServer({ noDelay: true }, (client) => {
    client.once("data", (head) => {
      const upstream = net.connect({ host: host!, port: Number(port), noDelay: true });
      const connected = new Promise((resolve, reject) => {
        upstream.once("connect", resolve);
        upstream.once("error", reject);
      });
      Promise.all([nc.request(`${prefix}.resume`, new Uint8Array(0), { timeout: 30_000 }), connected]).then(
        () => {
          upstream.write(head);
          upstream.pipe(client);
        },
        () => client.destroy(),
      );
      client.on("error", () => upstream.destroy());
    });
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`port ${(server.address() as net.AddressInfo).port}\n`));
  await new Promise((resolve) => process.once("SIGTERM", resolve));
  server.close();
  await nc.close();
}

/** Spawns the floor proxy in front of `upstream`, resuming through the node floor at `prefix`; resolves with its port. Stopped by the suite's cleanup. */
export async function startProxyFloor(ctx: Pick<SuiteContext, "nats" | "benchDir" | "cleanup">, prefix: string, upstream: { host: string; port: number }): Promise<number> {
  const args = childArgs(ctx.benchDir, "bench/floors/proxy-floor.ts", "proxyFloorMain", [ctx.nats.url, prefix, upstream.host, String(upstream.port)]);
  const { child, value } = await spawnReady("the contract floor proxy", process.execPath, args, {
    ready: (line) => Number(/^port (\d+)$/.exec(line)?.[1]) || undefined,
    stderr: "inherit",
    timeoutMs: 60_000,
  });
  ctx.cleanup(() => stopChild(child));
  return value;
}
