// `corral proxy` arguments (issue 6): defaults from the contract, and a clear
// invalid_argument for anything else.
import { describe, expect, it } from "vitest";
import { domainOption, parseProxyArgs, workersOption } from "../../actors/proxy/command.js";
import { portOption } from "../../src/cli/args.js";
import { CorralError } from "../../src/errors.js";

describe("corral proxy arguments", () => {
  it("defaults to port 8480, domain corral.localhost, one worker, access log on, NATS from the environment", () => {
    expect(parseProxyArgs([], { CORRAL_NATS_URL: "nats://n:4222" })).toEqual({
      natsUrl: "nats://n:4222",
      auth: {},
      port: 8480,
      domain: "corral.localhost",
      host: "0.0.0.0",
      workers: 1,
      accessLog: true,
      json: false,
    });
    expect(parseProxyArgs([], {}).natsUrl).toBe("nats://127.0.0.1:4222");
  });

  it("takes every option", () => {
    const argv = ["--nats-url", "nats://x:1", "--port", "0", "--domain", ".Sandboxes.Example.COM", "--host", "127.0.0.1", "--workers", "3", "--no-access-log", "--json", "--creds", "/c/proxy.creds", "--tls-ca", "/c/ca.pem"];
    expect(parseProxyArgs(argv, {})).toEqual({ natsUrl: "nats://x:1", auth: { creds: "/c/proxy.creds", tlsCa: "/c/ca.pem" }, port: 0, domain: "sandboxes.example.com", host: "127.0.0.1", workers: 3, accessLog: false, json: true });
  });

  it.each([
    [["--port", "65536"], /--port/],
    [["--port", "-1"], /--port/],
    [["--port", "80x"], /--port/],
    [["--domain", "a..b"], /--domain/],
    [["--domain", "-bad.example"], /--domain/],
    [["--domain", ""], /--domain/],
    [["--workers", "0"], /--workers/],
    [["--workers", "65"], /--workers/],
    [["--workers", "two"], /--workers/],
    [["--host", ""], /--host/],
    [["--unknown"], /Unknown option/],
    [["positional"], /no arguments/],
  ])("%j is invalid_argument", (argv, message) => {
    let err: unknown;
    try {
      parseProxyArgs(argv, {});
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CorralError);
    expect((err as CorralError).code).toBe("invalid_argument");
    expect((err as Error).message).toMatch(message);
  });

  it("resolves --workers auto to the CPU count, capped", () => {
    expect(workersOption("auto", 2)).toBe(2);
    expect(workersOption("auto", 0)).toBe(1);
    expect(workersOption("auto", 500)).toBe(64);
  });

  it("accepts ports 0..65535 and DNS names", () => {
    expect(portOption("--port", "0", 1)).toBe(0);
    expect(portOption("--port", "65535", 1)).toBe(65535);
    expect(portOption("--port", undefined, 8480)).toBe(8480);
    expect(domainOption("corral.localhost")).toBe("corral.localhost");
    expect(domainOption("a-1.b2")).toBe("a-1.b2");
    expect(domainOption(undefined)).toBe("corral.localhost");
  });
});
