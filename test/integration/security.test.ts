// Security end to end (issue 17; DESIGN.md "Security"): `corral up` with its
// embedded nats-server closed by default (operator/account/user JWTs, full
// resolver). Its node, proxy and UI run on their roles' credentials (so each
// role's permissions are enough for the real process); every role is probed
// for what it may and may not publish and subscribe; anonymous connections
// are refused; a tenant credential issued on the running cluster sees only
// its tenant's sandboxes and events; a revoke cuts a credential off without a
// restart; the UI answers 401 without its token.
import type { NatsConnection } from "@nats-io/nats-core";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { execFile } from "node:child_process";
import { once } from "node:events";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CorralClient } from "../../src/client/client.js";
import { LiveInstances } from "../../src/client/instances.js";
import { decodeJson, decodeMsgpack, encodeJson } from "../../src/codec.js";
import { natsConnectOptions } from "../../src/nats/connection.js";
import { ROLES, type Role } from "../../src/security/roles.js";
import { corral, corralJson, startCorral, type CorralProcess } from "../helpers/cli.js";
import { CORRAL_BIN, removeSandboxesOf, spawnNode } from "../helpers/node.js";
import { httpRequest } from "../helpers/proxy-client.js";
import { testNodeId } from "../helpers/docker.js";
import { waitUntil } from "../helpers/wait.js";
import { freePort } from "../helpers/ports.js";

const nodeId = testNodeId("sec");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-sec-"));
let up: CorralProcess;
let natsUrl: string;
let uiPort: number;
let proxyPort: number;
let uiLogin: string;
const conns: NatsConnection[] = [];

const credsFile = (role: Role) => path.join(dataDir, "creds", `${role}.creds`);
/** Connects as Corral's processes do (the credential's own inbox prefix included); null: anonymous. */
async function connectWith(file: string | null): Promise<NatsConnection> {
  const options = file ? natsConnectOptions({ natsUrl, name: "security-test", auth: { creds: file } }) : { servers: natsUrl };
  const nc = await connect({ ...options, maxReconnectAttempts: 0 });
  conns.push(nc);
  return nc;
}
const req = async (nc: NatsConnection, subject: string, body: unknown) => decodeJson((await nc.request(subject, encodeJson(body), { timeout: 30_000 })).data) as Record<string, unknown>;

beforeAll(async () => {
  const [natsPort, p, u] = await Promise.all([freePort(), freePort(), freePort()]);
  uiPort = u;
  proxyPort = p;
  natsUrl = `nats://127.0.0.1:${natsPort}`;
  up = startCorral(["up", "--data-dir", dataDir, "--nats-port", String(natsPort), "--proxy-port", String(p), "--ui-port", String(u), "--node-id", nodeId, "--driver", "process"], { detached: true });
  await up.waitFor("try:", 90_000);
  uiLogin = /^ui\s+(\S+)$/m.exec(up.stdout())![1]!;
}, 120_000);

afterAll(async () => {
  await Promise.allSettled(conns.map((nc) => nc.close()));
  if (up && up.child.exitCode === null && up.child.signalCode === null) {
    process.kill(-up.child.pid!, "SIGINT");
    await up.exited;
  }
  await removeSandboxesOf("process", nodeId, path.join(dataDir, `node-${nodeId}`));
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("corral up is closed by default", () => {
  it("listens on 127.0.0.1 only", async () => {
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    if (!external) return expect(external, "this machine has no non-loopback IPv4 address to probe").toBeUndefined();
    for (const port of [Number(new URL(natsUrl).port), proxyPort, uiPort]) {
      const reached = await new Promise<boolean>((resolve) => {
        const socket = net.connect({ host: external, port }, () => {
          socket.destroy();
          resolve(true);
        });
        socket.on("error", () => resolve(false));
      });
      expect([port, reached]).toEqual([port, false]);
      // The same port answers on the loopback address.
      const local = net.connect({ host: "127.0.0.1", port });
      await once(local, "connect");
      local.destroy();
    }
  });

  it("a client command run where ./.corral/creds/admin.creds exists uses it", async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "corral-cwd-"));
    try {
      const run = (dir: string) =>
        new Promise<number>((resolve) => execFile(process.execPath, [CORRAL_BIN, "ls", "--nats-url", natsUrl, "--json"], { cwd: dir, env: { ...process.env, CORRAL_NATS_CREDS: "" } }, (err) => resolve(err ? 1 : 0)));
      expect(await run(cwd)).toBe(1);
      fs.mkdirSync(path.join(cwd, ".corral", "creds"), { recursive: true });
      fs.copyFileSync(credsFile("admin"), path.join(cwd, ".corral", "creds", "admin.creds"));
      expect(await run(cwd)).toBe(0);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it("writes one credentials file per role, mode 0600", () => {
    for (const role of ROLES) expect((fs.statSync(credsFile(role)).mode & 0o777).toString(8), role).toBe("600");
    expect(up.stdout()).toMatch(/^ui\s+http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{20,}$/m);
  });

  it("refuses an anonymous connection", async () => {
    await expect(connect({ servers: natsUrl, maxReconnectAttempts: 0, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it("serves the CLI with the admin credentials, and the proxy forwards with its own", async () => {
    const sbx = await corralJson<{ sandboxId: string; state: string; trafficToken: string }>(["create", "--nats-url", natsUrl, "--creds", credsFile("admin"), "--timeout", "600"]);
    expect(sbx.state).toBe("running");
    const through = await httpRequest(proxyPort, `/sandboxes/${sbx.sandboxId}/8080/id`, { "X-Corral-Traffic-Token": sbx.trafficToken });
    expect([through.status, through.body.trim()]).toEqual([200, sbx.sandboxId]);
    const refused = await corral(["ls", "--nats-url", natsUrl, "--json"], { CORRAL_NATS_CREDS: "" });
    expect(refused.code).not.toBe(0);
  });
});

/** True when a message `role` publishes on `subject` reaches a subscriber (the admin's). */
async function canPublish(role: Role, subject: string): Promise<boolean> {
  const admin = await connectWith(credsFile("admin"));
  const nc = await connectWith(credsFile(role));
  let got = 0;
  const sub = admin.subscribe(subject, { callback: () => void got++ });
  await admin.flush();
  nc.publish(subject, "probe");
  // The server handles a connection's messages in order: once the role's PING and then the admin's are answered, a delivered probe has arrived.
  await nc.flush().catch(() => {});
  await admin.flush();
  sub.unsubscribe();
  return got > 0;
}

/** True when `role` subscribing to `subject` receives what the admin publishes there. */
async function canSubscribe(role: Role, subject: string, publishOn = subject.replace(">", "someone-else.x")): Promise<boolean> {
  const admin = await connectWith(credsFile("admin"));
  const nc = await connectWith(credsFile(role));
  let got = 0;
  nc.subscribe(subject, {
    callback: (err) => {
      if (!err) got++; // a refused subscription is told so through its callback
    },
  });
  await nc.flush().catch(() => {});
  admin.publish(publishOn, "probe");
  await admin.flush();
  await nc.flush().catch(() => {});
  return got > 0;
}

describe("roles: what each may publish and subscribe, enforced by the server", () => {
  // [role, subject, may publish]
  const pubs: [Role, string, boolean][] = [
    ["client", "corral.v1.sandbox.list", true],
    ["client", "corral.v1.cluster.nodes", true],
    ["client", "$SRV.PING.corral", true],
    ["client", "corral.v1.node.n1.kill", false],
    ["client", "corral.v1.activity.n1", false],
    ["client", "corral.v1.events.sandbox.x", false],
    ["client", "$JS.API.STREAM.INFO.KV_corral_sandboxes", false],
    ["client", "$KV.corral_sandboxes.x", false],
    ["client", "corral.v1.cluster.drain", false],
    ["client", "corral.v1.tenant.acme.sandbox.list", false],
    // The per-instance subjects of a retry (src/client/routing.ts), on a dummy instance id.
    ["client", "corral.v1.sandbox.list.PROBEINSTANCE", true],
    ["client", "corral.v1.cluster.nodes.PROBEINSTANCE", true],
    ["client", "corral.v1.cluster.drain.PROBEINSTANCE", false],
    ["client", "corral.v1.tenant.acme.sandbox.list.PROBEINSTANCE", false],
    // The tenants' ping (src/api/tenant-ping.ts): only a tenant's account reaches it, through its import.
    ["client", "corral.v1.tenant.acme.ping", false],
    ["gateway", "corral.v1.tenant.acme.ping", false],
    ["proxy", "corral.v1.activity.n1", true],
    ["proxy", "corral.v1.node.n1.resume", true],
    ["proxy", "$JS.API.DIRECT.GET.KV_corral_sandboxes.$KV.corral_sandboxes.x", true],
    ["proxy", "corral.v1.node.n1.kill", false],
    ["proxy", "corral.v1.events.sandbox.x", false],
    ["proxy", "$KV.corral_sandboxes.x", false],
    ["proxy", "$JS.API.DIRECT.GET.KV_corral_cluster.$KV.corral_cluster.identity", true],
    ["proxy", "$KV.corral_cluster.probe", false],
    ["proxy", "$JS.API.STREAM.DELETE.KV_corral_sandboxes", false],
    ["proxy", "corral.v1.sandbox.kill", false],
    ["proxy", "corral.v1.sandbox.kill.PROBEINSTANCE", false],
    ["node", "corral.v1.events.sandbox.x", true],
    ["node", "corral.v1.tenant.acme.events.sandbox.x", true],
    ["node", "$KV.corral_sandboxes.x", true],
    ["node", "$KV.corral_cluster.probe", true],
    ["node", "corral.v1.node.n1.kill", true],
    ["node", "corral.v1.sandbox.list", false],
    ["node", "corral.v1.activity.n1", false],
    ["node", "corral.v1.sandbox.list.PROBEINSTANCE", false],
    ["ui", "corral.v1.sandbox.kill", true],
    ["ui", "corral.v1.sandbox.kill.PROBEINSTANCE", true],
    ["ui", "$JS.API.CONSUMER.CREATE.CORRAL_EVENTS", true],
    ["ui", "corral.v1.node.n1.kill", false],
    ["ui", "$KV.corral_sandboxes.x", false],
    ["ui", "$KV.corral_cluster.probe", false],
    ["ui", "corral.v1.events.sandbox.x", false],
    ["gateway", "corral.v1.tenant.acme.sandbox.create", true],
    ["gateway", "$KV.corral_api_keys.abc", true],
    ["gateway", "corral.v1.sandbox.list", false],
    ["gateway", "corral.v1.tenant.acme.sandbox.get.PROBEINSTANCE", true],
    ["gateway", "$SRV.PING.corral", true],
    ["gateway", "$SRV.INFO.corral", false],
    ["gateway", "corral.v1.sandbox.list.PROBEINSTANCE", false],
    ["gateway", "$KV.corral_sandboxes.x", false],
    ["gateway", "corral.v1.node.n1.kill", false],
    ["admin", "corral.v1.node.n1.kill", true],
    ["admin", "$KV.corral_sandboxes.x", true],
  ];
  // [role, subject, may subscribe]
  const subs: [Role, string, boolean][] = [
    ["client", "corral.v1.events.sandbox.x", true],
    ["client", "corral.v1.node.n1.kill", false],
    ["client", "corral.v1.activity.n1", false],
    ["client", "corral.v1.sandbox.create", false],
    // Replies to others (a create's traffic token): every restricted role has only its own inbox.
    ["client", "_INBOX.>", false],
    ["node", "_INBOX.>", false],
    ["proxy", "corral.v1.events.sandbox.x", true],
    ["proxy", "corral.v1.node.n1.resume", false],
    ["proxy", "corral.v1.sandbox.create", false],
    ["node", "corral.v1.node.n1.kill", true],
    ["node", "corral.v1.activity.n1", true],
    ["node", "corral.v1.tenant.acme.sandbox.get", true],
    ["node", "corral.v1.cluster.nodes", true],
    ["node", "corral.v1.sandbox.get.PROBEINSTANCE", true],
    ["node", "corral.v1.tenant.acme.sandbox.get.PROBEINSTANCE", true],
    ["node", "corral.v1.cluster.nodes.PROBEINSTANCE", true],
    ["node", "corral.v1.tenant.acme.ping", true],
    ["client", "corral.v1.tenant.acme.ping", false],
    ["client", "corral.v1.sandbox.get.PROBEINSTANCE", false],
    ["gateway", "corral.v1.tenant.acme.sandbox.get.PROBEINSTANCE", false],
    ["ui", "corral.v1.events.sandbox.x", true],
    ["ui", "corral.v1.node.n1.kill", false],
    ["gateway", "corral.v1.events.sandbox.x", false],
    ["gateway", "corral.v1.tenant.acme.sandbox.get", false],
  ];

  afterAll(async () => {
    // The probes that the server let through wrote into the buckets: leave delete markers, as a purge does.
    const admin = await connectWith(credsFile("admin"));
    await (await new Kvm(admin).open("corral_sandboxes")).purge("x");
  });

  it("every role is probed both ways", () => {
    for (const role of ROLES) expect(pubs.some(([r]) => r === role), role).toBe(true);
  });

  it.each(pubs)("%s publishing %s: allowed %s", async (role, subject, allowed) => {
    expect(await canPublish(role, subject)).toBe(allowed);
  });

  it.each(subs)("%s subscribing %s: allowed %s", async (role, subject, allowed) => {
    expect(await canSubscribe(role, subject)).toBe(allowed);
  });

  it("a client uses the API but cannot read the KV through JetStream", async () => {
    const nc = await connectWith(credsFile("client"));
    expect(await req(nc, "corral.v1.sandbox.list", {})).toHaveProperty("items");
    await expect(nc.request("$JS.API.STREAM.INFO.KV_corral_sandboxes", "", { timeout: 2_000 })).rejects.toThrow();
  });

  it("a client and a gateway find the live API instances and send a retry to one's own subject", async () => {
    const client = await connectWith(credsFile("client"));
    const gateway = await connectWith(credsFile("gateway"));
    for (const nc of [client, gateway]) {
      const { id } = await req(nc, "$SRV.PING.corral", {});
      expect(id).toMatch(/^[A-Za-z0-9]+$/);
      const subject = nc === client ? `corral.v1.sandbox.list.${String(id)}` : `corral.v1.tenant.acme.sandbox.list.${String(id)}`;
      expect(await req(nc, subject, {})).toHaveProperty("items");
    }
  });
});

describe("tenants, issue and revoke on the running cluster", () => {
  const acmeFile = path.join(dataDir, "acme.creds");
  const globexFile = path.join(dataDir, "globex.creds");
  let adminSbx: string;

  it("issues tenant credentials (0600) without restarting NATS", async () => {
    const issued = await corralJson<{ publicKey: string; tenant: string }>(["creds", "issue", "--role", "client", "--tenant", "acme", "--out", acmeFile, "--data-dir", dataDir, "--nats-url", natsUrl]);
    expect(issued.tenant).toBe("acme");
    expect(issued.publicKey).toMatch(/^U[A-Z2-7]{55}$/);
    expect((fs.statSync(acmeFile).mode & 0o777).toString(8)).toBe("600");
    await corralJson(["creds", "issue", "--role", "client", "--tenant", "globex", "--out", globexFile, "--data-dir", dataDir, "--nats-url", natsUrl]);
    expect(fs.readFileSync(acmeFile, "utf8")).toContain("NATS USER JWT");
  });

  it("a tenant sees only its sandboxes and events, whatever the request says", async () => {
    const admin = await connectWith(credsFile("admin"));
    adminSbx = (await req(admin, "corral.v1.sandbox.create", { secure: false })).sandboxId as string;
    const acme = await connectWith(acmeFile);
    const globex = await connectWith(globexFile);
    const acmeEvents: string[] = [];
    acme.subscribe("corral.v1.events.>", { callback: (_e, m) => void acmeEvents.push((decodeMsgpack(m.data) as { sandboxId: string }).sandboxId) });
    await acme.flush();

    const mine = await req(acme, "corral.v1.sandbox.create", { secure: false });
    expect(mine.tenant).toBe("acme");
    const theirs = await req(globex, "corral.v1.sandbox.create", { secure: false });
    expect(theirs.tenant).toBe("globex");

    const listed = (await req(acme, "corral.v1.sandbox.list", {})).items as { sandboxId: string }[];
    expect(listed.map((r) => r.sandboxId)).toEqual([mine.sandboxId]);
    for (const other of [theirs.sandboxId, adminSbx]) {
      expect(((await req(acme, "corral.v1.sandbox.get", { sandboxId: other })).error as { code: string }).code).toBe("not_found");
      expect(((await req(acme, "corral.v1.sandbox.kill", { sandboxId: other })).error as { code: string }).code).toBe("not_found");
    }
    expect((await req(admin, "corral.v1.sandbox.get", { sandboxId: theirs.sandboxId })).state).toBe("running");
    // A tenant cannot reach the admin API, other tenants' subjects, or the KV: its account has none of them.
    await expect(acme.request("corral.v1.tenant.globex.sandbox.list", encodeJson({}), { timeout: 2_000 })).rejects.toThrow();
    await expect(acme.request("$JS.API.STREAM.INFO.KV_corral_sandboxes", "", { timeout: 2_000 })).rejects.toThrow();

    expect((await req(acme, "corral.v1.sandbox.kill", { sandboxId: mine.sandboxId })).state).toBe("killed");
    await req(admin, "corral.v1.sandbox.kill", { sandboxId: theirs.sandboxId });
    await waitUntil(() => acmeEvents.length >= 3, { timeoutMs: 10_000, what: "acme's events" });
    await acme.flush();
    expect(new Set(acmeEvents)).toEqual(new Set([mine.sandboxId]));
  });

  it("a revoked credential is cut off within 10 s, on connections opened before too", async () => {
    const open = await connectWith(globexFile);
    const closed = open.closed();
    const started = Date.now();
    const revoked = await corralJson<{ userPublicKey: string }>(["creds", "revoke", globexFile, "--data-dir", dataDir, "--nats-url", natsUrl]);
    expect(revoked.userPublicKey).toMatch(/^U/);
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error("the open connection was not closed within 10 s")), 10_000))]);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(connectWith(globexFile)).rejects.toThrow(/Authorization Violation|revoked/i);
    // Other credentials of that tenant and the cluster are untouched.
    const acme = await connectWith(acmeFile);
    expect(await req(acme, "corral.v1.sandbox.list", {})).toHaveProperty("items");
  });

  it("a tenant finds the live instances by its own ping (instance ids only) and retries on one instance's subject of its tenant, past a hung node", async () => {
    const acme = await connectWith(acmeFile);
    const acmeClient = await CorralClient.connect({ natsUrl, auth: { creds: acmeFile }, timeoutMs: 3_000 });
    // Created while `corral up`'s node is the only one: it owns the sandbox, and stays live below.
    const mine = await acmeClient.create({ secure: false, timeoutMs: 600_000 });
    const second = await spawnNode({ natsUrl, prefix: "sec2", driver: "process", env: { CORRAL_NATS_CREDS: credsFile("node") } });
    try {
      const live = await waitUntil(async () => {
        const found = await new LiveInstances(acme).get(1_000, true);
        return found.length === 2 && found;
      }, { timeoutMs: 10_000, what: "both API instances answering the tenant's ping" });
      // The tenant's ping names no node, no endpoint: the reply is the instance id and the service's name and version.
      for (const instance of live) expect(instance.nodeId).toBeNull();
      expect(Object.keys(await req(acme, "$SRV.PING.corral", {})).sort()).toEqual(["id", "name", "type", "version"]);
      for (const { id } of live) {
        // Its tenant's API on that instance (the account maps `corral.v1.sandbox.<op>.<id>` to `corral.v1.tenant.acme.sandbox.<op>.<id>`).
        expect(await req(acme, `corral.v1.sandbox.get.${id}`, { sandboxId: mine.sandboxId })).toMatchObject({ sandboxId: mine.sandboxId, tenant: "acme" });
        expect(((await req(acme, `corral.v1.sandbox.get.${id}`, { sandboxId: adminSbx })).error as { code: string }).code).toBe("not_found");
        const listed = (await req(acme, `corral.v1.sandbox.list.${id}`, {})).items as { tenant: string }[];
        expect(new Set(listed.map((r) => r.tenant))).toEqual(new Set(["acme"]));
        // Nothing else on that instance: another tenant's or the admin API, the cluster ops, the tenant subjects as such.
        for (const subject of [`corral.v1.tenant.globex.sandbox.list.${id}`, `corral.v1.tenant.acme.sandbox.list.${id}`, `corral.v1.cluster.nodes.${id}`]) {
          await expect(acme.request(subject, encodeJson({}), { timeout: 1_000 }), subject).rejects.toThrow();
        }
      }
      // No other `$SRV` verb (they name the node and list every endpoint), and not the tenant ping under its own name.
      for (const subject of ["$SRV.PING", "$SRV.INFO.corral", "$SRV.STATS.corral", "$SRV.PING.corral.x", "corral.v1.tenant.acme.ping", "corral.v1.tenant.globex.ping"]) {
        await expect(acme.request(subject, encodeJson({}), { timeout: 1_000 }), subject).rejects.toThrow();
      }

      second.child.kill("SIGSTOP");
      try {
        // A stopped process answers no ping: the tenant's retries go to the live instance only.
        const alive = await new LiveInstances(acme).get(1_000, true);
        expect(alive.length).toBe(1);
        expect(live.map((i) => i.id)).toContain(alive[0]!.id);
        // The queue group would hand about half of these to the hung node; each is answered within its bound.
        for (let i = 0; i < 8; i++) expect((await acmeClient.get(mine.sandboxId)).state).toBe("running");
      } finally {
        second.child.kill("SIGCONT");
      }
      expect((await acmeClient.kill(mine.sandboxId)).state).toBe("killed");
    } finally {
      await acmeClient.close();
      await second.destroy();
    }
  }, 60_000);

  it("revoking by public key works too", async () => {
    const file = path.join(dataDir, "client2.creds");
    const issued = await corralJson<{ publicKey: string }>(["creds", "issue", "--role", "client", "--out", file, "--data-dir", dataDir, "--nats-url", natsUrl]);
    const nc = await connectWith(file);
    const closed = nc.closed();
    await corralJson(["creds", "revoke", issued.publicKey, "--data-dir", dataDir, "--nats-url", natsUrl]);
    await Promise.race([closed, new Promise((_, reject) => setTimeout(() => reject(new Error("not closed within 10 s")), 10_000))]);
    await expect(connectWith(file)).rejects.toThrow();
  });
});

describe("the UI of a secured corral up", () => {
  it("answers 401 without the printed token and 200 with it; its actions run on the ui role", async () => {
    const url = new URL(uiLogin);
    const token = url.searchParams.get("token")!;
    expect((await httpRequest(uiPort, "/api/snapshot")).status).toBe(401);
    expect((await httpRequest(uiPort, "/")).status).toBe(401);
    expect((await httpRequest(uiPort, `/?token=${token}`)).status).toBe(303);
    const auth = { Authorization: `Bearer ${token}` };
    const snap = await httpRequest(uiPort, "/api/snapshot", auth);
    expect([snap.status, snap.status === 200 ? "" : snap.body]).toEqual([200, ""]);
    const admin = await connectWith(credsFile("admin"));
    const sbx = (await req(admin, "corral.v1.sandbox.create", { secure: false })).sandboxId as string;
    const killed = await httpRequest(uiPort, `/api/sandboxes/${sbx}/kill`, { ...auth, "Content-Type": "application/json" }, "POST", "{}");
    expect([killed.status, JSON.parse(killed.body).state]).toEqual([200, "killed"]);
    const history = await httpRequest(uiPort, `/api/sandboxes/${sbx}/history`, auth);
    expect(history.status).toBe(200);
    expect(JSON.parse(history.body).events.length).toBeGreaterThan(0);
  });
});
