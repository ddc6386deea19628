// The `corral` CLI end to end (issue 5; DESIGN.md "CLI"): the built
// executable against a real nats-server and a `corral node` process.
// create -> ls -> set-timeout -> pause -> resume -> kill with `--json`
// parsed (exactly the API's reply objects), the human output, errors
// (exit 1, `{"error": {code, message}}` under --json), `CORRAL_NATS_URL`,
// and `watch` live and replaying history from CORRAL_EVENTS.
import { beforeAll, describe, expect, it } from "vitest";
import type { SandboxRecord } from "../../src/schema/record.js";
import type { CreateReply, ListReply } from "../../src/client/types.js";
import { corral, corralJson, startCorral } from "../helpers/cli.js";
import { useCorralProcesses } from "../helpers/corral.js";

const fixture = useCorralProcesses({ nodes: [{ prefix: "cli", driver: "process" }] });
let url: string[];

beforeAll(() => {
  url = ["--nats-url", fixture.nats.url];
});

describe("corral CLI", () => {
  it("create -> ls -> set-timeout -> pause -> resume -> kill, with --json", async () => {
    const created = await corralJson<CreateReply>(["create", ...url, "--timeout", "600", "--metadata", "suite=cli", "--metadata", "user=alice", "--on-timeout", "pause"]);
    expect(created).toMatchObject({ state: "running", created: true, timeoutMs: 600_000, metadata: { suite: "cli", user: "alice" }, lifecycle: { onTimeout: "pause" } });
    expect(created.trafficToken).toBeTypeOf("string");
    const id = created.sandboxId;

    const page = await corralJson<ListReply>(["ls", ...url, "--metadata", "suite=cli"]);
    expect(page).toEqual({ items: [expect.objectContaining({ sandboxId: id, state: "running" })], nextCursor: null });

    const before = Date.now();
    const shortened = await corralJson<SandboxRecord>(["set-timeout", id, "30", ...url]);
    expect(shortened.timeoutMs).toBe(30_000);
    expect(shortened.endAt!).toBeGreaterThanOrEqual(before + 30_000);
    expect(shortened.endAt!).toBeLessThan(created.endAt!);

    expect(await corralJson<SandboxRecord>(["pause", id, ...url])).toMatchObject({ state: "paused", endAt: null });
    expect(await corralJson<SandboxRecord>(["ls", ...url, "--state", "paused", "--metadata", "suite=cli"])).toMatchObject({ items: [{ sandboxId: id }] });
    const resumed = await corralJson<SandboxRecord>(["resume", id, ...url]);
    expect(resumed).toMatchObject({ state: "running", timeoutMs: 30_000 });
    expect(resumed.endAt).toBe(resumed.startedAt! + 30_000);
    const refreshed = await corralJson<SandboxRecord>(["refresh", id, "120", ...url]);
    expect(refreshed.endAt!).toBeGreaterThan(resumed.endAt!);
    expect(await corralJson<SandboxRecord>(["kill", id, ...url])).toMatchObject({ state: "killed", killReason: "request" });
    expect(await corralJson<ListReply>(["ls", ...url, "--metadata", "suite=cli"])).toEqual({ items: [], nextCursor: null });
    expect(await corralJson<ListReply>(["ls", ...url, "--metadata", "suite=cli", "--state", "killed"])).toMatchObject({ items: [{ sandboxId: id, state: "killed" }] });
  });

  it("prints tables and field lines for humans; reads CORRAL_NATS_URL", async () => {
    const env = { CORRAL_NATS_URL: fixture.nats.url };
    const create = await corral(["create", "--metadata", "suite=human", "--key", "cli-human"], env);
    expect(create.code).toBe(0);
    const id = /^sandbox\s+([a-z0-9]{20})$/m.exec(create.stdout)![1]!;
    expect(create.stdout).toMatch(/^state\s+running$/m);
    expect(create.stdout).toMatch(/^token\s+\S{20,}/m);
    const ls = await corral(["ls", "--metadata", "suite=human"], env);
    expect(ls.stdout.split("\n")[0]).toMatch(/^SANDBOX\s+TEMPLATE\s+STATE\s+NODE\s+ENDS IN\s+METADATA$/);
    expect(ls.stdout).toMatch(new RegExp(`^${id}\\s+base\\s+running\\s+${fixture.node.nodeId}\\s+(4m|5m)`, "m"));
    const again = await corral(["create", "--key", "cli-human"], env);
    expect(again.stdout).toMatch(/^created\s+false$/m);
    expect(again.stdout).not.toMatch(/^token/m);
    const connect = await corral(["connect", id], env);
    expect(connect.stdout).toMatch(/^resumed\s+false$/m);
    expect((await corral(["kill", id], env)).stdout).toMatch(/^kill reason\s+request$/m);
    expect((await corral(["ls", "--metadata", "suite=human"], env)).stdout.trim()).toBe("no sandboxes");
  });

  it("fails with exit 1 and the error's code and message", async () => {
    const missing = await corral(["get", "aaaaaaaaaaaaaaaaaaaa", ...url, "--json"]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toEqual({ error: { code: "not_found", message: "sandbox aaaaaaaaaaaaaaaaaaaa not found" } });
    const human = await corral(["get", "aaaaaaaaaaaaaaaaaaaa", ...url]);
    expect(human).toMatchObject({ code: 1, stdout: "" });
    expect(human.stderr.trim()).toBe("error: not_found: sandbox aaaaaaaaaaaaaaaaaaaa not found");
    for (const args of [["get", "bad-id"], ["create", "--timeout", "-5"], ["create", "--cpu", "lots"], ["ls", "--limit", "0"], ["set-timeout", "aaaaaaaaaaaaaaaaaaaa"], ["frobnicate"], ["create", "--bogus"]]) {
      const res = await corral([...args, ...url, "--json"]);
      expect(res.code, args.join(" ")).toBe(1);
      expect(JSON.parse(res.stdout).error.code, args.join(" ")).toBe("invalid_argument");
    }
    const noServer = await corral(["ls", "--nats-url", "nats://127.0.0.1:1", "--json"]);
    expect(noServer.code).toBe(1);
    expect(JSON.parse(noServer.stdout).error.code).toBe("unavailable");
  });

  it("watch streams transitions live, and replays recent history from CORRAL_EVENTS", async () => {
    const sbx = await corralJson<CreateReply>(["create", ...url]);
    const live = startCorral(["watch", sbx.sandboxId, ...url, "--json"]);
    try {
      // Nothing says when the watch's consumer exists: toggle pause/resume until a whole pause shows up
      // (a consumer that starts between a pause's two writes sees only its `paused`).
      await expect
        .poll(
          async () => {
            await corral(["pause", sbx.sandboxId, ...url]);
            await corral(["resume", sbx.sandboxId, ...url]);
            return live.stdout();
          },
          { timeout: 20_000 },
        )
        .toMatch(/"to":"pausing"[^\n]*\n.*"to":"paused"/);
    } finally {
      live.child.kill("SIGINT");
    }
    expect(await live.exited).toBe(0);
    const lines = live.stdout().trim().split("\n").map((l) => JSON.parse(l) as { sandboxId: string; to: string; record: Record<string, unknown> });
    expect(lines.every((e) => e.sandboxId === sbx.sandboxId)).toBe(true);
    expect(lines.map((e) => e.to)).toContain("pausing");
    expect(lines[0]!.record).not.toHaveProperty("internal");

    const replay = startCorral(["watch", sbx.sandboxId, "--since", "600", ...url, "--json"]);
    try {
      await replay.waitFor(/"to":"paused"/, 15_000);
    } finally {
      replay.child.kill("SIGINT");
    }
    await replay.exited;
    const history = replay.stdout().trim().split("\n").map((l) => (JSON.parse(l) as { event: string }).event);
    expect(history.slice(0, 4)).toEqual(["create", "started", "pause", "paused"]);
    await corral(["kill", sbx.sandboxId, ...url]);
  });
});
