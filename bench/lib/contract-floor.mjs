/**
 * The node suite's second baseline, "the contract's floor": the least any
 * node that keeps Corral's contract must do around a docker pause or
 * unpause, written with the raw libraries (no xstate, no schema, no Corral
 * code) in its own process, as a node is:
 *
 *   request in -> intent CAS write + its event beside the engine call ->
 *   engine call -> outcome CAS write + its event -> reply.
 *
 * The records and events are opaque bytes of a real record's size, in a
 * bucket made like `corral_sandboxes`. Corral over this floor is Corral's own
 * cost; the floor over raw docker is what the contract's NATS round trips
 * cost on this machine.
 *
 * `node bench/lib/contract-floor.mjs <nats url> <container id> <subject prefix> <record bytes>`
 * answers `<prefix>.pause` and `<prefix>.resume`; prints "ready" once subscribed.
 */
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import Docker from "dockerode";

const [natsUrl, containerId, prefix, size] = process.argv.slice(2);
const nc = await connect({ servers: natsUrl, noAsyncTraces: true });
const kv = await new Kvm(nc).create(`bench_floor_${process.pid}`, { history: 2, storage: "file" });
const container = new Docker().getContainer(containerId);
const record = new Uint8Array(Number(size)).fill(0x61);
let revision = await kv.put("sandbox", record);

async function write() {
  revision = await kv.update("sandbox", record, revision);
  nc.publish(`corral.v1.events.sandbox.bench-floor-${process.pid}`, record);
}

async function run(op) {
  const call = op === "pause" ? container.pause() : container.unpause();
  await new Promise((resolve) => setImmediate(resolve));
  await Promise.all([call, write()]);
  await write();
}

nc.subscribe(`${prefix}.*`, {
  callback: (_err, msg) => {
    const op = msg.subject.endsWith(".pause") ? "pause" : "resume";
    run(op).then(
      () => msg.respond(record),
      (err) => msg.respond(new TextEncoder().encode(`error: ${err.message}`)),
    );
  },
});
await nc.flush();
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  void kv.destroy().finally(() => nc.close().finally(() => process.exit(0)));
});
