// Foundation (issue 2): the harness gives every test a real nats-server with
// JetStream and a real Docker engine with the `base` template image.
import { Kvm } from "@nats-io/kv";
import { jetstream } from "@nats-io/jetstream";
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE_IMAGE } from "../../src/templates.js";
import { NODE_LABEL, SANDBOX_LABEL, containerState, removeContainersOf, requireDocker, testNodeId } from "../helpers/docker.js";
import { startNats, type NatsServer } from "../helpers/nats.js";

function httpGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

describe("nats-server harness", () => {
  let server: NatsServer;
  beforeAll(async () => {
    server = await startNats();
  });
  afterAll(async () => {
    await server.stop();
  });

  it("does a KV put / update / CAS conflict round trip", async () => {
    const nc = await server.connect();
    const kv = await new Kvm(nc).create("foundation_cas", { history: 2 });
    const r1 = await kv.create("k", "v1");
    const r2 = await kv.update("k", "v2", r1);
    expect(r2).toBeGreaterThan(r1);
    // A write with the stale revision loses: JetStream error 10071.
    const stale = await kv.update("k", "v3", r1).then(
      () => null,
      (err: unknown) => err,
    );
    expect((stale as { api_error?: { err_code?: number } })?.api_error?.err_code ?? (stale as { code?: number })?.code).toBe(10071);
    expect((await kv.get("k"))?.string()).toBe("v2");
    // create on an existing key also loses.
    await expect(kv.create("k", "again")).rejects.toThrow();
    await kv.destroy();
    expect(await jetstream(nc).jetstreamManager().then((m) => m.streams.names().next())).not.toContain("KV_foundation_cas");
  });

  it("restarts on the same port keeping JetStream data", async () => {
    const nc = await server.connect();
    const kv = await new Kvm(nc).create("foundation_restart");
    await kv.put("a", "1");
    await server.kill();
    await server.start();
    const nc2 = await server.connect();
    expect((await (await new Kvm(nc2).open("foundation_restart")).get("a"))?.string()).toBe("1");
  });
});

describe("docker harness and the base template", () => {
  const nodeId = testNodeId("foundation");
  afterAll(async () => {
    const docker = await requireDocker();
    const left = await removeContainersOf(docker, nodeId);
    if (left.length > 0) console.warn(`removed leftover containers: ${left.join(", ")}`);
  });

  it("runs a base container that answers GET /id with its id over its bridge IP", async () => {
    const docker = await requireDocker();
    const sandboxId = "foundation0000000001";
    const container = await docker.createContainer({
      Image: BASE_IMAGE,
      Env: [`CORRAL_SANDBOX_ID=${sandboxId}`],
      Labels: { [SANDBOX_LABEL]: sandboxId, [NODE_LABEL]: nodeId },
    });
    try {
      await container.start();
      const info = await container.inspect();
      const ip = Object.values(info.NetworkSettings.Networks)[0]?.IPAddress;
      expect(ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      // The main process needs a moment to bind; poll instead of sleeping.
      let res: { status: number; body: string } | undefined;
      for (let i = 0; i < 100 && !res; i++) {
        res = await httpGet(`http://${ip}:8080/id`).catch(() => undefined);
        if (!res) await new Promise((r) => setTimeout(r, 50));
      }
      expect(res).toEqual({ status: 200, body: sandboxId });
    } finally {
      await container.remove({ force: true });
    }
    expect(await containerState(docker, container.id)).toBe("missing");
  });
});
