// The pure parts of issue 17: credential specs, the UI login's decisions,
// connection options with credentials/TLS, API scopes, and the tenant list
// filter. The server-enforced parts are in test/integration/security.test.ts.
import fs from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { UiLogin, readTokenFile } from "../../actors/ui/login.js";
import { ADMIN_SCOPE, canSee, scopeOfSubject } from "../../src/api/scope.js";
import { decode } from "@nats-io/jwt";
import { credsInboxPrefix, natsConnectOptions } from "../../src/nats/connection.js";
import { Authority, authorityPath } from "../../src/security/authority.js";
import { issueCreds, parseCredsSpec } from "../../src/security/creds.js";
import { ROLE_PERMISSIONS, ROLES } from "../../src/security/roles.js";
import { compileListQuery, matches } from "../../src/store/list-page.js";
import { subjects } from "../../src/subjects.js";
import { makeStoredSandbox } from "../helpers/records.js";

describe("credential specs", () => {
  it("takes every role, a tenant only for client, and refuses bad names", () => {
    for (const role of ROLES) expect(parseCredsSpec(role, undefined)).toEqual({ role });
    expect(parseCredsSpec("client", "acme")).toEqual({ role: "client", tenant: "acme" });
    for (const [role, tenant] of [["root", undefined], [undefined, undefined], ["node", "acme"], ["client", "Acme"], ["client", "a.b"], ["client", "-x"]] as const) {
      expect(() => parseCredsSpec(role, tenant), `${role}/${tenant}`).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    }
  });

  it("only admin is unrestricted; no other role may publish node commands but the node (and the proxy's resume)", () => {
    expect(ROLE_PERMISSIONS.admin).toBeNull();
    for (const role of ROLES.filter((r) => r !== "admin")) {
      const pub = ROLE_PERMISSIONS[role]!.pub.allow ?? [];
      expect(pub.includes(">"), role).toBe(false);
      expect(pub.some((s) => s.startsWith("corral.v1.node.")), role).toBe(role === "node" || role === "proxy");
    }
    expect(ROLE_PERMISSIONS.proxy!.pub.allow).toContain("corral.v1.node.*.resume");
  });
});

describe("own inboxes", () => {
  it("a restricted credential may subscribe only to its own inbox, and tells the client so; admin keeps the default", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-authority-"));
    try {
      const authority = Authority.loadOrCreate(dir);
      const client = await issueCreds(authority, { role: "client" });
      const te = new TextEncoder();
      expect(credsInboxPrefix(te.encode(client.creds))).toBe(`_INBOX.${client.userPublicKey}`);
      const claims = decode<{ sub: { allow: string[] } }>(/-----BEGIN NATS USER JWT-----\s*(\S+)\s*-/.exec(client.creds)![1]!);
      expect(claims.nats.sub!.allow).toContain(`_INBOX.${client.userPublicKey}.>`);
      expect(claims.nats.sub!.allow).not.toContain("_INBOX.>");
      expect(credsInboxPrefix(te.encode((await issueCreds(authority, { role: "admin" })).creds))).toBeNull();
      expect((fs.statSync(authorityPath(dir)).mode & 0o777).toString(8)).toBe("600");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("API scope", () => {
  it("is admin on the plain subjects, the tenant on tenant subjects; a bad tenant name is invalid_argument", () => {
    expect(scopeOfSubject(subjects.api("list"))).toBe(ADMIN_SCOPE);
    expect(scopeOfSubject(subjects.tenantApi("acme", "kill"))).toEqual({ tenant: "acme" });
    expect(() => scopeOfSubject("corral.v1.tenant.ACME.sandbox.list")).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    const mine = makeStoredSandbox({ tenant: "acme" });
    const untenanted = makeStoredSandbox();
    expect([canSee({ tenant: "acme" }, mine), canSee({ tenant: "acme" }, untenanted), canSee({ tenant: "globex" }, mine)]).toEqual([true, false, false]);
    expect([canSee(ADMIN_SCOPE, mine), canSee(ADMIN_SCOPE, untenanted)]).toEqual([true, true]);
  });

  it("list filters by tenant only when asked", () => {
    const records = [makeStoredSandbox({ tenant: "acme" }), makeStoredSandbox({ tenant: "globex" }), makeStoredSandbox()];
    const q = (tenant?: string) => compileListQuery(tenant === undefined ? {} : { tenant });
    expect(records.filter((r) => matches(q("acme"), r))).toEqual([records[0]]);
    expect(records.filter((r) => matches(q(), r))).toHaveLength(3);
  });
});

describe("connection options", () => {
  it("read the credentials and TLS files; a missing file or half a key pair is invalid_argument", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-conn-"));
    try {
      const ca = path.join(dir, "ca.pem");
      fs.writeFileSync(ca, "not checked here");
      const opts = natsConnectOptions({ name: "t", natsUrl: "tls://h:1", auth: { tlsCa: ca } });
      expect(opts.tls).toEqual({ caFile: ca });
      expect(opts.authenticator).toBeUndefined();
      expect(() => natsConnectOptions({ name: "t", auth: { creds: path.join(dir, "nope.creds") } })).toThrow(expect.objectContaining({ code: "invalid_argument" }));
      expect(() => natsConnectOptions({ name: "t", auth: { tlsCert: ca } })).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("UI login", () => {
  const token = "a-token-of-enough-length";
  const login = new UiLogin(token);
  const reqOf = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  const resSpy = () => {
    const out: { status?: number; headers?: Record<string, string>; ended: boolean } = { ended: false };
    const res = {
      writeHead(status: number, headers: Record<string, string>) {
        out.status = status;
        out.headers = headers;
      },
      end() {
        out.ended = true;
      },
    } as unknown as ServerResponse;
    return { res, out };
  };
  const url = (p: string) => new URL(p, "http://ui.invalid");

  it("admits Bearer and the session cookie ?token= sets; refuses everything else as unauthorized", () => {
    expect(login.admit(reqOf({ authorization: `Bearer ${token}` }), resSpy().res, url("/"))).toBe(true);
    const { res, out } = resSpy();
    expect(login.admit(reqOf({}), res, url(`/?token=${token}&a=1`))).toBe(false);
    expect([out.status, out.headers?.Location, out.ended]).toEqual([303, "/?a=1", true]);
    const cookie = out.headers!["Set-Cookie"]!.split(";")[0]!;
    expect(cookie).not.toContain(token);
    expect(login.admit(reqOf({ cookie }), resSpy().res, url("/api/snapshot"))).toBe(true);
    const refused: Record<string, string>[] = [{}, { authorization: `Bearer ${token}x` }, { authorization: token }, { cookie: "corral_ui_session=x" }];
    for (const headers of refused) {
      expect(() => login.admit(reqOf(headers), resSpy().res, url("/")), JSON.stringify(headers)).toThrow(expect.objectContaining({ code: "unauthorized" }));
    }
    expect(() => login.admit(reqOf({}), resSpy().res, url("/?token=wrong"))).toThrow(expect.objectContaining({ code: "unauthorized" }));
  });

  it("reads a token file's first line and refuses a short or missing one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-token-"));
    try {
      fs.writeFileSync(path.join(dir, "ok"), `${token}\n`);
      fs.writeFileSync(path.join(dir, "short"), "abc\n");
      expect(readTokenFile(path.join(dir, "ok"))).toBe(token);
      expect(() => readTokenFile(path.join(dir, "short"))).toThrow(expect.objectContaining({ code: "invalid_argument" }));
      expect(() => readTokenFile(path.join(dir, "none"))).toThrow(expect.objectContaining({ code: "invalid_argument" }));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
