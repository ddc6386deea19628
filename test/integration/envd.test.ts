// envd served by the node (issue 18): commands and files in a real `base`
// container (docker exec) and a real process sandbox, through the node's
// envd endpoint directly (the proxy route is covered by e2b-sdk.test.ts).
import type { NatsConnection } from "@nats-io/nats-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { envelope } from "../../src/connect-frames.js";
import { deriveEnvdToken } from "../../src/envd-token.js";
import type { DriverKind } from "../../src/drivers/types.js";
import { ApiKeyStore } from "../../src/store/api-keys.js";
import { NodeRegistry } from "../../src/store/node-registry.js";
import { resolveConfig } from "../../src/config.js";
import { useNats } from "../helpers/fixture.js";
import { requireDocker } from "../helpers/docker.js";
import { multipart, request, start } from "../helpers/envd-client.js";
import { startNode, type TestNode } from "../helpers/node.js";

const fixture = useNats();
let nc: NatsConnection;
let secret: Uint8Array;

beforeAll(async () => {
  await requireDocker();
  ({ nc } = fixture);
  secret = await (await ApiKeyStore.open(nc)).envdSecret();
});

describe.each<DriverKind>(["docker", "process"])("envd on the %s driver", (driver) => {
  let node: TestNode;
  let base: string;
  let id: string;
  let token: string;
  let prefix: string;

  beforeAll(async () => {
    node = await startNode({ natsUrl: fixture.nats.url, driver, prefix: `envd-${driver}` });
    const registry = await NodeRegistry.open(nc, resolveConfig());
    const record = await registry.get(node.nodeId);
    expect(record?.envd).toMatch(/^127\.0\.0\.1:\d+$/);
    base = `http://${record!.envd}`;
    const sbx = await node.client.create({ env: { FROM_CREATE: "yes" } });
    id = sbx.sandboxId;
    token = deriveEnvdToken(secret, id, sbx.createdAt);
    prefix = `/envd/${id}`;
  }, 60_000);

  afterAll(async () => {
    await node?.destroy();
  });

  it("answers /health without a token, and refuses commands without the sandbox's token", async () => {
    expect((await request(base, `${prefix}/health`)).status).toBe(204);
    const none = await start(base, prefix, undefined, { cmd: "true" });
    expect(none.status).toBe(401);
    const wrong = await start(base, prefix, deriveEnvdToken(secret, id, 1), { cmd: "true" });
    expect(wrong.status).toBe(401);
    expect((await request(base, `${prefix}/files?path=/etc/hostname`)).status).toBe(401);
  });

  it("streams stdout and stderr, reports the exit code, passes env and cwd, and maps bash to sh", async () => {
    const r = await start(base, prefix, token, {
      cmd: "/bin/bash",
      args: ["-l", "-c", 'echo "out:$GREETING:$FROM_CREATE:$CORRAL_SANDBOX_ID"; echo err >&2; pwd; exit 7'],
      envs: { GREETING: "hi" },
      cwd: "/tmp",
    });
    expect(r.status).toBe(200);
    expect(r.frames[0]!.message).toMatchObject({ event: { start: { pid: expect.any(Number) } } });
    expect(r.stdout).toBe(`out:hi:yes:${id}\n/tmp\n`);
    // The process driver runs the host's bash, whose login files may print to stderr first.
    expect(driver === "docker" ? r.stderr : r.stderr.slice(-4)).toBe("err\n");
    expect(r.exitCode).toBe(7);
    expect(r.frames.at(-1)!.flags).toBe(2);
    expect(r.endError).toBeUndefined();
  });

  it("writes and reads files, and answers 404 for a missing one", async () => {
    const content = `hello ${id}\n`.repeat(1000);
    const path = driver === "docker" ? "/tmp/sub/dir/file.txt" : `sub/dir/file.txt`;
    const { body, contentType } = multipart(path, content);
    const up = await request(base, `${prefix}/files?path=${encodeURIComponent(path)}`, { method: "POST", headers: { "X-Access-Token": token, "Content-Type": contentType }, body });
    expect(up.status).toBe(200);
    expect(JSON.parse(up.body.toString())).toEqual([{ name: "file.txt", type: "file", path }]);
    const down = await request(base, `${prefix}/files?path=${encodeURIComponent(path)}`, { headers: { "X-Access-Token": token } });
    expect(down.status).toBe(200);
    expect(down.body.toString()).toBe(content);
    const missing = await request(base, `${prefix}/files?path=/nope/${id}`, { headers: { "X-Access-Token": token } });
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString())).toMatchObject({ code: 404 });
  });

  it("kills the command when the client goes away", async () => {
    const marker = `/tmp/corral-envd-${id}`;
    // A duration of its own: the process driver's sandboxes share the host's process list with other test files' sleeps.
    const nap = `sleep 30.${Math.floor(1000 + Math.random() * 9000)}`;
    const running = (listing: string) => listing.split("\n").some((line) => line.trim() === nap || line.includes(marker));
    const controller = new AbortController();
    const http = await import("node:http");
    const req = http.request(new URL(`${prefix}/process.Process/Start`, base), {
      method: "POST",
      headers: { "Content-Type": "application/connect+json", "X-Access-Token": token },
      signal: controller.signal,
    });
    req.on("error", () => undefined);
    const frame = envelope({ process: { cmd: "/bin/sh", args: ["-c", `echo started; ${nap}; touch ${marker}`] } });
    const started = new Promise<void>((resolve) => req.on("response", (res) => res.on("data", (c: Buffer) => c.includes(Buffer.from("c3RhcnRlZ")) && resolve())));
    req.end(frame);
    await started;
    controller.abort();
    // The sleep's process group is gone: `pgrep`-free check via the shell's own view.
    const check = await start(base, prefix, token, { cmd: "/bin/sh", args: ["-c", "ps -o args 2>/dev/null || ps ax"] });
    const poll = async () => (await start(base, prefix, token, { cmd: "/bin/sh", args: ["-c", "ps -o args 2>/dev/null || ps ax -o args"] })).stdout;
    let listing = check.stdout;
    for (let i = 0; i < 50 && running(listing); i++) listing = await poll();
    expect(running(listing), listing).toBe(false);
  });

  it("answers 502 for a sandbox that is not running, and for one this node does not host", async () => {
    await node.client.pause(id);
    expect((await request(base, `${prefix}/health`)).status).toBe(502);
    await node.client.resume(id);
    expect((await request(base, `${prefix}/health`)).status).toBe(204);
    expect((await request(base, `/envd/${"a".repeat(20)}/health`)).status).toBe(502);
  });
});
