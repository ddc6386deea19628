// `corral up` starts its proxy on loopback unless told otherwise, and passes
// the limit flags through (validated before anything starts).
import { describe, expect, it } from "vitest";
import { UP_PROXY_OPTIONS, proxyChildArgs, proxyProbeHost } from "../../actors/up/proxy-args.js";
import { parse } from "../../src/cli/args.js";

const values = (argv: string[]) => parse(argv, UP_PROXY_OPTIONS).values;

describe("corral up's proxy arguments", () => {
  it("binds 127.0.0.1 by default", () => {
    expect(proxyChildArgs(values([]), "nats://n:1", 8480, "corral.localhost", {})).toEqual([
      ...["--nats-url", "nats://n:1", "--port", "8480", "--domain", "corral.localhost", "--host", "127.0.0.1"],
    ]);
  });

  it("takes --proxy-host and passes the limit flags through as given", () => {
    const argv = ["--proxy-host", "0.0.0.0", "--idle-timeout-ms", "5000", "--max-connections", "20"];
    expect(proxyChildArgs(values(argv), "nats://n:1", 1, "d", {}).slice(6)).toEqual(["--host", "0.0.0.0", "--idle-timeout-ms", "5000", "--max-connections", "20"]);
    expect(proxyProbeHost("0.0.0.0")).toBe("127.0.0.1");
    expect(proxyProbeHost("::")).toBe("::1");
    expect(proxyProbeHost("10.1.2.3")).toBe("10.1.2.3");
  });

  it.each([
    [["--header-timeout-ms", "0"], {}, /--header-timeout-ms/],
    [["--proxy-host", ""], {}, /--proxy-host/],
    [[], { CORRAL_PROXY_BODY_TIMEOUT_MS: "soon" }, /CORRAL_PROXY_BODY_TIMEOUT_MS/],
  ])("refuses %j (env %j) before starting anything", (argv, env, message) => {
    expect(() => proxyChildArgs(values(argv), "", 1, "d", env)).toThrow(message);
  });
});
