// Where the client sends each attempt (src/client/routing.ts), on a
// connection whose `$SRV.PING.corral` answers are scripted: the real retry
// across a hung node is test/integration/node-faults.test.ts.
import type { Msg, NatsConnection } from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { Routing } from "../../src/client/routing.js";

/** A connection whose pings answer with `ids` (or fail), counting the pings. */
function pinged(answer: () => string[] | Error): { nc: NatsConnection; pings: () => number } {
  let pings = 0;
  const nc = {
    requestMany: async (subject: string) => {
      expect(subject).toBe("$SRV.PING.corral");
      pings++;
      const ids = answer();
      if (ids instanceof Error) throw ids;
      return (async function* () {
        for (const id of ids) yield { data: new TextEncoder().encode(JSON.stringify({ name: "corral", id, metadata: { nodeId: `node-${id}` } })) } as Msg;
      })();
    },
  } as unknown as NatsConnection;
  return { nc, pings: () => pings };
}

describe("client routing", () => {
  it("sends first attempts to the queue group until an attempt there times out, then to a live instance for the client's bound", async () => {
    const { nc, pings } = pinged(() => ["A", "B"]);
    const routing = new Routing(nc, 60_000);
    expect(await routing.firstTarget(Date.now() + 10_000)).toBeNull();
    routing.failed(null, true); // nobody serving: no reason to avoid the group
    expect(await routing.firstTarget(Date.now() + 10_000)).toBeNull();
    expect(pings()).toBe(0);
    routing.failed(null, false); // a queue member swallowed it
    expect(routing.avoidingQueue).toBe(true);
    expect(["A", "B"]).toContain(await routing.firstTarget(Date.now() + 10_000));
    expect(pings()).toBe(1);
  });

  it("retries on a live instance that has not failed this request, asking afresh each time; with none left, the queue group", async () => {
    let live = ["A", "B"];
    const { nc, pings } = pinged(() => live);
    const routing = new Routing(nc, 60_000);
    expect(await routing.retryTarget(new Set(["A"]), 1_000)).toBe("B");
    live = ["A"]; // B stopped answering pings
    expect(await routing.retryTarget(new Set(), 1_000)).toBe("A");
    expect(await routing.retryTarget(new Set(["A"]), 1_000)).toBeNull();
    expect(pings()).toBe(3);
  });

  it("falls back to the queue group when it may not ping (a tenant's account) or nobody answers", async () => {
    const denied = new Routing(pinged(() => new Error("Permissions Violation for Publish to $SRV.PING.corral")).nc, 60_000);
    expect(await denied.retryTarget(new Set(), 1_000)).toBeNull();
    const silent = new Routing(pinged(() => []).nc, 60_000);
    expect(await silent.retryTarget(new Set(), 1_000)).toBeNull();
  });
});
