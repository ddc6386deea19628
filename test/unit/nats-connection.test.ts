// The one connection module (src/nats/connection.ts): URL lists, the
// connect options every command uses, and CORRAL_REPLICAS / --replicas.
import { describe, expect, it } from "vitest";
import { ConfigError, resolveConfig } from "../../src/config.js";
import { InvalidArgumentError } from "../../src/errors.js";
import { describeServers, natsConnectOptions, parseNatsUrls } from "../../src/nats/connection.js";

describe("parseNatsUrls", () => {
  it("splits a comma-separated list, ignoring blanks around commas", () => {
    expect(parseNatsUrls("nats://a:4222, nats://b:4222 ,nats://c:4222")).toEqual(["nats://a:4222", "nats://b:4222", "nats://c:4222"]);
  });

  it("takes one URL, bare host:port and tls://", () => {
    expect(parseNatsUrls("nats://127.0.0.1:4222")).toEqual(["nats://127.0.0.1:4222"]);
    expect(parseNatsUrls("10.0.0.1:4222,tls://n.example:4443")).toEqual(["nats://10.0.0.1:4222", "tls://n.example:4443"]);
  });

  it.each(["", " , ", "http://a:4222", "nats://", "nats://a:99999"])("rejects %j naming the value", (value) => {
    expect(() => parseNatsUrls(value)).toThrow(InvalidArgumentError);
    expect(() => parseNatsUrls(value)).toThrow(/--nats-url/);
  });
});

describe("natsConnectOptions", () => {
  it("gives nats.js every server of the list and reconnects forever", () => {
    const opts = natsConnectOptions({ natsUrl: "nats://a:1,nats://b:2", name: "corral-test" });
    expect(opts).toMatchObject({ servers: ["nats://a:1", "nats://b:2"], name: "corral-test", maxReconnectAttempts: -1, noAsyncTraces: true });
  });

  it("defaults to $CORRAL_NATS_URL, which takes a list too", () => {
    const before = process.env.CORRAL_NATS_URL;
    process.env.CORRAL_NATS_URL = "nats://x:1,nats://y:2";
    try {
      expect(natsConnectOptions({ name: "t" }).servers).toEqual(["nats://x:1", "nats://y:2"]);
    } finally {
      if (before === undefined) delete process.env.CORRAL_NATS_URL;
      else process.env.CORRAL_NATS_URL = before;
    }
  });

  it("never prints credentials of a URL", () => {
    expect(describeServers(["nats://user:secret@a:4222", "nats://b:4222"])).toBe("nats://***@a:4222,nats://b:4222");
  });
});

describe("replicas", () => {
  it("defaults to 1 and reads CORRAL_REPLICAS", () => {
    expect(resolveConfig({}, {}).replicas).toBe(1);
    expect(resolveConfig({}, { CORRAL_REPLICAS: "3" }).replicas).toBe(3);
    expect(resolveConfig({ replicas: 5 }, { CORRAL_REPLICAS: "3" }).replicas).toBe(5);
  });

  it.each(["0", "6", "2.5", "three", ""])("CORRAL_REPLICAS=%j is a start-up error naming the value", (value) => {
    expect(() => resolveConfig({}, { CORRAL_REPLICAS: value })).toThrow(ConfigError);
    expect(() => resolveConfig({}, { CORRAL_REPLICAS: value })).toThrow(new RegExp(`CORRAL_REPLICAS must be an integer from 1 to 5, got ${JSON.stringify(JSON.stringify(value)).slice(1, -1)}`));
  });
});
