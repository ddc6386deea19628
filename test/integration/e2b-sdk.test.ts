// E2B compatibility (issue 18): the official `e2b` SDK from npm, unchanged,
// against a real nats-server, a docker node (with its envd endpoint), a
// proxy and a gateway. Every call goes over the wire exactly as it would to
// E2B: REST to the gateway, envd through the proxy on port 49983.
import type { NatsConnection } from "@nats-io/nats-core";
import { AuthenticationError, CommandExitError, Sandbox, SandboxNotFoundError } from "e2b";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, type GatewayHandle } from "../../actors/gateway/index.js";
import { ApiKeyStore } from "../../src/store/api-keys.js";
import { useCorral } from "../helpers/corral.js";

const corral = useCorral({ prefix: "e2b", proxy: { accessLog: false } });
let nc: NatsConnection;
let gateway: GatewayHandle;
let alpha: { apiKey: string; apiUrl: string; sandboxUrl: string };
let beta: typeof alpha;
const run = `run${Date.now().toString(36)}`;
const created: string[] = [];

beforeAll(async () => {
  ({ nc } = corral);
  gateway = await startGateway({ nc, port: 0, host: "127.0.0.1" });
  const keys = await ApiKeyStore.open(nc);
  const urls = { apiUrl: `http://127.0.0.1:${gateway.port}`, sandboxUrl: `http://127.0.0.1:${corral.proxy.port}` };
  alpha = { apiKey: (await keys.create("alpha")).key, ...urls };
  beta = { apiKey: (await keys.create("beta")).key, ...urls };
}, 60_000);

afterAll(async () => {
  for (const id of created) await corral.client.kill(id).catch(() => undefined);
  await gateway?.close();
});

describe("the e2b SDK against Corral", () => {
  let sbx: Sandbox;

  it("creates a sandbox and reads it back (getInfo)", async () => {
    sbx = await Sandbox.create("base", { ...alpha, timeoutMs: 120_000, metadata: { suite: run, n: "0" }, envs: { FROM_CREATE: "yes" } });
    created.push(sbx.sandboxId);
    const info = await sbx.getInfo();
    expect(info).toMatchObject({ sandboxId: sbx.sandboxId, templateId: "base", metadata: { suite: run, n: "0" }, state: "running" });
    expect(info.endAt.getTime() - Date.now()).toBeGreaterThan(100_000);
    expect(info.endAt.getTime() - Date.now()).toBeLessThanOrEqual(120_000);
  }, 60_000);

  it("lists with metadata and pages by nextToken", async () => {
    for (const n of ["1", "2"]) created.push((await Sandbox.create("base", { ...alpha, metadata: { suite: run, n } })).sandboxId);
    const paginator = Sandbox.list({ ...alpha, query: { metadata: { suite: run } }, limit: 2 });
    const first = await paginator.nextItems();
    expect(first).toHaveLength(2);
    expect(paginator.hasNext).toBe(true);
    const second = await paginator.nextItems();
    expect(second).toHaveLength(1);
    expect(paginator.hasNext).toBe(false);
    expect(new Set([...first, ...second].map((s) => s.metadata.n))).toEqual(new Set(["0", "1", "2"]));
    const one = await Sandbox.list({ ...alpha, query: { metadata: { suite: run, n: "1" } } }).nextItems();
    expect(one.map((s) => s.sandboxId)).toEqual([created[1]]);
  }, 60_000);

  it("sets the timeout (seconds on the wire)", async () => {
    await sbx.setTimeout(30_000);
    const info = await sbx.getInfo();
    expect(info.endAt.getTime() - Date.now()).toBeGreaterThan(20_000);
    expect(info.endAt.getTime() - Date.now()).toBeLessThanOrEqual(30_000);
    await sbx.setTimeout(120_000);
  });

  it("runs commands through envd: stdout, env, exit codes (base has no bash)", async () => {
    expect(await sbx.isRunning()).toBe(true);
    const ok = await sbx.commands.run('echo "hello $FROM_CREATE $EXTRA"; echo oops >&2', { envs: { EXTRA: "x" } });
    expect(ok).toMatchObject({ exitCode: 0, stdout: "hello yes x\n", stderr: "oops\n" });
    const failed = await sbx.commands.run("echo partial; exit 3").catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(CommandExitError);
    expect((failed as CommandExitError).exitCode).toBe(3);
    expect((failed as CommandExitError).stdout).toBe("partial\n");
    // A background command killed through envd's SendSignal ends with SIGKILL's status.
    const background = await sbx.commands.run("sleep 30", { background: true });
    expect(await background.kill()).toBe(true);
    const killed = await background.wait().catch((err: unknown) => err);
    expect((killed as CommandExitError).exitCode).toBe(137);
    const streamed: string[] = [];
    await sbx.commands.run("for i in 1 2 3; do echo $i; done", { onStdout: (d) => void streamed.push(d) });
    expect(streamed.join("")).toBe("1\n2\n3\n");
  }, 30_000);

  it("writes and reads files", async () => {
    const text = `corral ${run}\n`.repeat(500);
    const info = await sbx.files.write("/tmp/e2b/hello.txt", text);
    expect(info).toMatchObject({ name: "hello.txt", path: "/tmp/e2b/hello.txt" });
    expect(await sbx.files.read("/tmp/e2b/hello.txt")).toBe(text);
    expect((await sbx.commands.run("wc -c < /tmp/e2b/hello.txt")).stdout.trim()).toBe(String(text.length));
    const many = await sbx.files.write([
      { path: "/tmp/e2b/a.txt", data: "A" },
      { path: "/tmp/e2b/b/c.txt", data: new TextEncoder().encode("C").buffer },
    ]);
    expect(many.map((f) => f.path)).toEqual(["/tmp/e2b/a.txt", "/tmp/e2b/b/c.txt"]);
    expect((await sbx.commands.run("cat /tmp/e2b/a.txt /tmp/e2b/b/c.txt")).stdout).toBe("AC");
    await expect(sbx.files.read("/tmp/e2b/missing")).rejects.toThrow(/does not exist/);
  });

  it("pauses (true, then false), is not running while paused, and connect resumes it", async () => {
    expect(await sbx.pause()).toBe(true);
    expect(await sbx.pause()).toBe(false);
    expect((await sbx.getInfo()).state).toBe("paused");
    expect(await sbx.isRunning()).toBe(false);
    const again = await Sandbox.connect(sbx.sandboxId, alpha);
    expect((await again.getInfo()).state).toBe("running");
    expect(await again.isRunning()).toBe(true);
    // The token handed out by connect is the sandbox's envd token too.
    expect((await again.commands.run("echo back")).stdout).toBe("back\n");
  }, 60_000);

  it("another tenant's key sees nothing of it", async () => {
    expect(await Sandbox.list({ ...beta, query: { metadata: { suite: run } } }).nextItems()).toEqual([]);
    await expect(Sandbox.getInfo(sbx.sandboxId, beta)).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await Sandbox.kill(sbx.sandboxId, beta)).toBe(false);
    expect(await sbx.isRunning()).toBe(true);
  });

  it("refuses a wrong key with AuthenticationError", async () => {
    await expect(Sandbox.list({ ...alpha, apiKey: `e2b_${"0".repeat(40)}` }).nextItems()).rejects.toBeInstanceOf(AuthenticationError);
    await expect(Sandbox.create("base", { ...alpha, apiKey: "not-a-key" })).rejects.toBeInstanceOf(AuthenticationError);
    // A revoked key stops working on the next request.
    const keys = await ApiKeyStore.open(nc);
    const extra = await keys.create("alpha");
    expect((await Sandbox.list({ ...alpha, apiKey: extra.key, query: { metadata: { suite: run } } }).nextItems()).length).toBe(3);
    await keys.revoke(extra.prefix);
    await expect(Sandbox.list({ ...alpha, apiKey: extra.key }).nextItems()).rejects.toBeInstanceOf(AuthenticationError);
  });

  it("kills (true, then false); a killed sandbox is not found and not running", async () => {
    expect(await sbx.kill()).toBe(true);
    expect(await sbx.kill()).toBe(false);
    await expect(sbx.getInfo()).rejects.toBeInstanceOf(SandboxNotFoundError);
    await expect(Sandbox.connect(sbx.sandboxId, alpha)).rejects.toBeInstanceOf(SandboxNotFoundError);
    expect(await sbx.isRunning()).toBe(false);
  });
});
