// The three routing forms of the proxy contract (issue 6), and what is not a target.
import { describe, expect, it } from "vitest";
import { isTarget, resolveTarget } from "../../actors/proxy/resolve-target.js";
import { upstreamOf } from "../../actors/proxy/upstream.js";
import { makeStoredSandbox } from "../helpers/records.js";

const ID = "abcdefghij0123456789";
const D = "corral.localhost";

describe("resolveTarget", () => {
  it.each([
    [`8080-${ID}.${D}`, "/a?b=1"],
    [`8080-${ID}.${D}:8480`, "/a?b=1"],
    [`8080-${ID}.CORRAL.localhost:8480`, "/a?b=1"],
  ])("host form %s", (host, url) => {
    expect(resolveTarget(host, {}, url, D)).toEqual({ sandboxId: ID, port: 8080, path: "/a?b=1", form: "host" });
  });

  it.each([
    [{ "e2b-sandbox-id": ID, "e2b-sandbox-port": "3000" }],
    [{ "x-corral-sandbox-id": ID, "x-corral-sandbox-port": "3000" }],
  ])("header form %o", (headers) => {
    expect(resolveTarget("localhost:8480", headers, "/x", D)).toEqual({ sandboxId: ID, port: 3000, path: "/x", form: "header" });
  });

  it.each([
    [`/sandboxes/${ID}/8080/id`, "/id"],
    [`/sandboxes/${ID}/8080/a/b?q=1`, "/a/b?q=1"],
    [`/sandboxes/${ID}/8080`, "/"],
    [`/sandboxes/${ID}/8080/`, "/"],
    [`/sandboxes/${ID}/8080?q=1`, "/?q=1"],
  ])("path form %s -> %s", (url, path) => {
    expect(resolveTarget("localhost", {}, url, D)).toEqual({ sandboxId: ID, port: 8080, path, form: "path" });
  });

  it("prefers the host form, then headers, then the path", () => {
    const other = "zzzzzzzzzz0123456789";
    expect(resolveTarget(`80-${ID}.${D}`, { "x-corral-sandbox-id": other, "x-corral-sandbox-port": "1" }, `/sandboxes/${other}/2/`, D)).toMatchObject({ sandboxId: ID, port: 80 });
    expect(resolveTarget("localhost", { "x-corral-sandbox-id": ID, "x-corral-sandbox-port": "1" }, `/sandboxes/${other}/2/`, D)).toMatchObject({ sandboxId: ID, port: 1 });
  });

  it.each([
    ["localhost:8480", {}, "/healthz"],
    [D, {}, "/"],
    [`8080-${ID}.other.domain`, {}, "/"],
    [undefined, {}, "/"],
  ])("names no sandbox: host %s url %s", (host, headers, url) => {
    expect(resolveTarget(host, headers, url, D)).toBeNull();
  });

  it.each([
    [`0-${ID}.${D}`, {}, "/"],
    [`70000-${ID}.${D}`, {}, "/"],
    [`8080-NOTANID.${D}`, {}, "/"],
    [`8080${ID}.${D}`, {}, "/"],
    ["x", { "x-corral-sandbox-id": ID }, "/"],
    ["x", { "e2b-sandbox-id": "bad", "e2b-sandbox-port": "80" }, "/"],
    ["x", {}, `/sandboxes/${ID}/port/`],
    ["x", {}, `/sandboxes/${ID}`],
    ["x", {}, "/sandboxes/short/80/"],
  ])("invalid target: host %s headers %o url %s", (host, headers, url) => {
    const r = resolveTarget(host, headers, url, D);
    expect(r).not.toBeNull();
    expect(isTarget(r)).toBe(false);
  });
});

describe("upstreamOf", () => {
  const endpoint = (ports: Record<string, number>) => makeStoredSandbox({ internal: { endpoint: { host: "172.17.0.9", ports } } });
  it("maps any port to host:port for docker (empty map)", () => {
    expect(upstreamOf(endpoint({}), 3000)).toEqual({ host: "172.17.0.9", port: 3000 });
  });
  it("maps through a process driver's port map", () => {
    expect(upstreamOf(endpoint({ "8080": 41234 }), 8080)).toEqual({ host: "172.17.0.9", port: 41234 });
  });
  it("refuses a port missing from a non-empty map, without naming the address", () => {
    const r = upstreamOf(endpoint({ "8080": 41234 }), 3000);
    expect(r).toBe("sandbox port 3000 is not exposed");
  });
  it("refuses a record without an endpoint", () => {
    expect(typeof upstreamOf(makeStoredSandbox({ internal: { endpoint: null } }), 80)).toBe("string");
  });
});
