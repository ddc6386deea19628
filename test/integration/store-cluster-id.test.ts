// The cluster's identity in the KV (DESIGN.md, "Cluster identity"): made once
// by a CAS create, so processes starting at once against a fresh store agree.
import type { NatsConnection } from "@nats-io/transport-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isClusterId } from "../../src/ids.js";
import { ensureClusterId, readClusterId } from "../../src/store/index.js";
import { startNats, type NatsServer } from "../helpers/nats.js";

let nats: NatsServer;
let conns: NatsConnection[];

beforeAll(async () => {
  nats = await startNats();
  conns = await Promise.all(Array.from({ length: 6 }, () => nats.connect()));
});

afterAll(async () => {
  await nats?.stop();
});

describe("cluster id", () => {
  it("is absent before any node started, for readers (who never create it)", async () => {
    expect(await readClusterId(conns[0]!)).toBeNull();
    expect(await readClusterId(conns[1]!)).toBeNull();
  });

  it("is made once when several processes start at once: every one gets the same id, and it is kept", async () => {
    const ids = await Promise.all(conns.map((nc) => ensureClusterId(nc)));
    expect(isClusterId(ids[0])).toBe(true);
    expect(new Set(ids).size).toBe(1);
    expect(await readClusterId(conns[0]!)).toBe(ids[0]);
    expect(await ensureClusterId(conns[2]!)).toBe(ids[0]);
  });

  it("survives a restart of the server (file storage)", async () => {
    const before = await readClusterId(conns[0]!);
    await nats.kill();
    await nats.start();
    const nc = await nats.connect();
    expect(await readClusterId(nc)).toBe(before);
    expect(await ensureClusterId(nc)).toBe(before);
  });
});
