// Proxy replicas (issue 6) against a real node actor (docker driver), a real
// nats-server and three replicas that share nothing but NATS:
// - after a pause / resume / kill through the API, all three answer by the
//   new state within a generous bound (the bench reports the real p50/p99);
// - 50 concurrent requests spread over the three replicas to one paused
//   auto-resume sandbox all succeed, and the event stream shows exactly ONE
//   `resuming` transition (single flight per replica, one owner across them);
// - every replica reports the traffic it forwarded on corral.v1.activity.<nodeId>.
import { beforeAll, describe, expect, it } from "vitest";
import type { ProxyHandle } from "../../actors/proxy/index.js";
import { decodeActivityBatch, type ActivityBatch } from "../../src/activity.js";
import type { CorralClient } from "../../src/client/client.js";
import type { SandboxId } from "../../src/ids.js";
import { subjects } from "../../src/subjects.js";
import { useCorral } from "../helpers/corral.js";
import { via, type Reply } from "../helpers/proxy-client.js";
import { waitUntil } from "../helpers/wait.js";

/** The bound for "all replicas answer by the new state" (the bench measures the real figure). */
const CONVERGE_MS = 500;

const corral = useCorral({ prefix: "proxyrep", proxy: { replicas: 3 } });
const { events } = corral;
let client: CorralClient;
let proxies: ProxyHandle[];
const batches: ActivityBatch[] = [];

beforeAll(async () => {
  ({ client, proxies } = corral);
  corral.nc.subscribe(subjects.activity(corral.node.nodeId), {
    callback: (_err, msg) => {
      batches.push(decodeActivityBatch(msg.data));
    },
  });
  await corral.nc.flush();
});

function getId(replica: ProxyHandle, id: string, token: string): Promise<Reply> {
  return via("host", replica.port, id, 8080, "/id", { token });
}

/** Waits (at most CONVERGE_MS) until every replica answers `status`. */
async function allAnswer(id: string, token: string, status: number): Promise<void> {
  await Promise.all(
    proxies.map((p, i) =>
      waitUntil(async () => (await getId(p, id, token)).status === status, { timeoutMs: CONVERGE_MS, intervalMs: 5, what: `replica ${i} to answer ${status}` }),
    ),
  );
}

describe("three replicas", () => {
  it("converge on pause, resume and kill made through the API", async () => {
    const { sandboxId: id, trafficToken } = await client.create({ timeoutMs: 120_000 });
    const token = trafficToken!;
    for (const p of proxies) expect(await getId(p, id, token)).toMatchObject({ status: 200, body: id });

    const paused = await client.pause(id);
    expect(paused.state).toBe("paused");
    await allAnswer(id, token, 409);
    const body = JSON.parse((await getId(proxies[0]!, id, token)).body) as unknown;
    expect(body).toEqual({ code: 409, message: "sandbox is paused" });

    await client.resume(id);
    await allAnswer(id, token, 200);
    for (const p of proxies) expect((await getId(p, id, token)).body).toBe(id);

    await client.kill(id);
    await allAnswer(id, token, 410);
  });

  it("50 concurrent requests to a paused auto-resume sandbox: all answered, exactly one resume", async () => {
    const { sandboxId, trafficToken } = await client.create({ timeoutMs: 120_000, lifecycle: { autoResume: true } });
    const id = sandboxId as SandboxId;
    const token = trafficToken!;
    await client.pause(id);
    const before = events.length;

    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => getId(proxies[i % 3]!, id, token)));
    expect(replies.map((r) => r.status)).toEqual(Array<number>(50).fill(200));
    expect(new Set(replies.map((r) => r.body))).toEqual(new Set([id]));

    // The node wrote `running` before the replies could be forwarded; give the broadcast to the test's connection a moment.
    await waitUntil(() => events.slice(before).some((e) => e.sandboxId === id && e.to === "running"), { what: "the running event" });
    const resumes = events.slice(before).filter((e) => e.sandboxId === id && e.to === "resuming");
    expect(resumes).toHaveLength(1);
    expect(resumes[0]!.from).toBe("paused");
    expect((await client.get(id)).state).toBe("running");
  });

  it("every replica reports the requests it forwarded to the owning node", async () => {
    const { sandboxId: id, trafficToken } = await client.create({ timeoutMs: 120_000 });
    for (const p of proxies) expect((await getId(p, id, trafficToken!)).status).toBe(200);
    const reported = await waitUntil(
      () => {
        const from = new Set(batches.filter((b) => b.items.some((i) => i.sandboxId === id && i.requests > 0)).map((b) => b.proxyId));
        return from.size === 3 ? from : undefined;
      },
      { timeoutMs: 3_000, what: "an activity batch from each replica" },
    );
    expect([...reported].sort()).toEqual(["replica-0", "replica-1", "replica-2"]);
  });
});
