// The cold path's floor for bench/proxy: the least a proxy keeping the
// contract does for a request to a paused auto-resume sandbox, with the raw
// libraries (net, nats.js; no route table, no parser, no gate): take the
// request, ask the owner to resume (the contract's floor node,
// bench/lib/contract-floor.mjs), open the upstream connection meanwhile (as
// Corral's replica does), send the request once the owner replied, and relay
// the answer until the upstream closes. One sandbox, one request per
// connection; only for the bench.
//
// `node bench/proxy/contract-floor-proxy.mjs <nats url> <floor subject prefix> <sandbox host> <sandbox port>`
// prints "port <n>" once it listens.
import net from "node:net";
import { connect } from "@nats-io/transport-node";

const [natsUrl, prefix, host, port] = process.argv.slice(2);
const nc = await connect({ servers: natsUrl, noAsyncTraces: true });

const server = net.createServer({ noDelay: true }, (client) => {
  client.once("data", (head) => {
    const upstream = net.connect({ host, port: Number(port), noDelay: true });
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
server.listen(0, "127.0.0.1", () => process.stdout.write(`port ${server.address().port}\n`));
process.on("SIGTERM", () => {
  server.close();
  void nc.close().finally(() => process.exit(0));
});
