// The process driver with real busybox httpd processes: signals, adoption by
// (pid, start time), exit events, and that nothing (no process, no zombie, no
// file) is left behind.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DriverError } from "../../src/drivers/errors.js";
import { parseProcessHandle, readProcStat } from "../../src/drivers/proc.js";
import { ProcessDriver } from "../../src/drivers/process.js";
import type { DriverEvent, SandboxSpec, StartedSandbox } from "../../src/drivers/types.js";
import { newClusterId, newSandboxId } from "../../src/ids.js";
import { BASE_TEMPLATE } from "../../src/templates.js";
import { testNodeId } from "../helpers/docker.js";
import { waitUntil } from "../helpers/wait.js";

const nodeId = testNodeId("drvproc");
const clusterId = newClusterId();
let dataDir: string;
let driver: ProcessDriver;
/** Every pid this file started, to kill on failure and to check for leftovers. */
const pids = new Set<number>();

function spec(overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  return { sandboxId: newSandboxId(), nodeId, clusterId, template: BASE_TEMPLATE, env: {}, resources: { cpu: 1, memoryMB: 64 }, incarnation: 1, ...overrides };
}

async function start(d: ProcessDriver, s = spec()): Promise<StartedSandbox> {
  const started = await d.start(s);
  pids.add(parseProcessHandle(started.handle)!.pid);
  return started;
}

async function getId(started: StartedSandbox, timeoutMs = 2_000): Promise<string> {
  const port = started.endpoint.ports["8080"];
  const res = await fetch(`http://127.0.0.1:${port}/id`, { signal: AbortSignal.timeout(timeoutMs) });
  return res.text();
}

/** Processes (any state, zombies included) in the process groups this file created. */
function leftovers(): string[] {
  const out: string[] = [];
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat && pids.has(stat.pgrp)) {
      let cmd = "";
      try {
        cmd = fs.readFileSync(`/proc/${name}/cmdline`, "latin1").replaceAll("\0", " ");
      } catch {
        // exited meanwhile
      }
      out.push(`${stat.pid}(${stat.state}) pgrp ${stat.pgrp} ${cmd}`);
    }
  }
  return out;
}

beforeAll(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-procdrv-"));
  driver = new ProcessDriver({ dataDir });
});

afterAll(async () => {
  await driver?.close();
  for (const pid of pids) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("ProcessDriver", () => {
  it("starts busybox httpd that answers /id, freezes it with SIGSTOP, resumes and removes it", async () => {
    const s = spec({ env: { GREETING: "hi" } });
    const t0 = performance.now();
    const started = await start(driver, s);
    const startMs = performance.now() - t0;
    const { pid, startTime } = parseProcessHandle(started.handle)!;
    expect(started.endpoint.host).toBe("127.0.0.1");
    expect(await getId(started)).toBe(s.sandboxId);
    expect(readProcStat(pid)).toMatchObject({ pgrp: pid, startTime }); // own process group
    expect(fs.readFileSync(`/proc/${pid}/environ`, "latin1").split("\0")).toEqual(expect.arrayContaining([`CORRAL_SANDBOX_ID=${s.sandboxId}`, "GREETING=hi"]));
    const adoption = JSON.parse(fs.readFileSync(path.join(dataDir, "sandboxes", `${clusterId}-${s.sandboxId}-1.json`), "utf8"));
    expect(adoption).toMatchObject({ sandboxId: s.sandboxId, nodeId, clusterId, incarnation: 1, pid, startTime, port: started.endpoint.ports["8080"] });

    for (const mode of ["freeze", "stop"] as const) {
      expect(driver.keepsEndpointWhenPaused(mode)).toBe(true); // both modes freeze: the port stays the sandbox's
      let t = performance.now();
      await driver.pause(started.handle, mode);
      const pauseMs = performance.now() - t;
      expect(readProcStat(pid)?.state).toBe("T");
      expect((await driver.inspect(started.handle))?.state).toBe("paused");
      await expect(getId(started, 300)).rejects.toThrow();
      t = performance.now();
      expect(await driver.resume(started.handle, mode)).toEqual(started.endpoint);
      const resumeMs = performance.now() - t;
      expect(await getId(started)).toBe(s.sandboxId);
      console.log(`driver-process ${mode}: pause ${pauseMs.toFixed(2)} ms, resume ${resumeMs.toFixed(2)} ms`);
    }

    const t = performance.now();
    await driver.remove(started.handle);
    const removeMs = performance.now() - t;
    expect(readProcStat(pid)).toBeNull(); // gone and reaped, not a zombie
    expect(fs.existsSync(path.join(dataDir, "sandboxes", `${clusterId}-${s.sandboxId}-1.json`))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, "sandboxes", `${clusterId}-${s.sandboxId}-1`))).toBe(false);
    await driver.remove(started.handle); // idempotent
    expect(await driver.inspect(started.handle)).toBeNull();
    await expect(driver.pause(started.handle, "freeze")).rejects.toMatchObject({ op: "pause", reason: "vanished" });
    console.log(`driver-process: start→ready ${startMs.toFixed(1)} ms, remove ${removeMs.toFixed(1)} ms`);
  });

  it("fails a start whose command exits, fast, and leaves no files", async () => {
    const s = spec({ template: { ...BASE_TEMPLATE, name: "false", processCommand: ["busybox", "false"], readyTimeoutMs: 20_000 } });
    const t0 = Date.now();
    const err = await driver.start(s).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DriverError);
    expect(err).toMatchObject({ op: "start", reason: "exited" });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(fs.readdirSync(path.join(dataDir, "sandboxes")).filter((n) => n.includes(s.sandboxId))).toEqual([]);
  });

  it("is adopted by a new driver on the same data dir, by pid and start time", async () => {
    const a = await start(driver);
    const b = await start(driver);
    await driver.pause(b.handle, "freeze");
    const c = await start(driver);
    // c's adoption file now names another start time: the pid is "reused" as far as the driver can tell.
    const cFile = fs.readdirSync(path.join(dataDir, "sandboxes")).find((n) => n.endsWith(".json") && fs.readFileSync(path.join(dataDir, "sandboxes", n), "utf8").includes(`"pid":${parseProcessHandle(c.handle)!.pid},`))!;
    const cPath = path.join(dataDir, "sandboxes", cFile);
    const cRecord = JSON.parse(fs.readFileSync(cPath, "utf8"));
    fs.writeFileSync(cPath, JSON.stringify({ ...cRecord, startTime: String(Number(cRecord.startTime) + 1) }));
    const cForged = `pid:${cRecord.pid}:${Number(cRecord.startTime) + 1}`;

    const restarted = new ProcessDriver({ dataDir });
    try {
      const listed = new Map((await restarted.list(nodeId)).map((i) => [i.handle, i]));
      expect(listed.get(a.handle)).toMatchObject({ state: "running", nodeId, incarnation: 1, endpoint: a.endpoint });
      expect(listed.get(b.handle)).toMatchObject({ state: "paused", endpoint: b.endpoint });
      expect(listed.get(cForged)).toMatchObject({ state: "missing", endpoint: null });
      expect(await restarted.list(testNodeId("other"))).toEqual([]);
      expect((await restarted.inspect(a.handle))?.state).toBe("running");

      // The adopting driver operates them; the forged one is never signalled.
      expect(await restarted.resume(b.handle, "freeze")).toEqual(b.endpoint);
      expect(await getId(b)).toMatch(/^[a-z0-9]{20}$/);
      await expect(restarted.pause(cForged, "freeze")).rejects.toMatchObject({ reason: "vanished" });
      await restarted.remove(cForged); // removes the files, must not kill pid c
      expect(readProcStat(cRecord.pid)?.state).toBe("S"); // still alive (its files are gone, its process is not ours to kill)

      // An adopted (non-child) process killed behind the driver's back is reported by the 1 s timer.
      const events: DriverEvent[] = [];
      const stop = restarted.watch(nodeId, (e) => events.push(e));
      const t0 = Date.now();
      process.kill(-parseProcessHandle(a.handle)!.pid, "SIGKILL");
      const event = await waitUntil(() => events.find((e) => e.handle === a.handle), { timeoutMs: 2_500, what: "exited event of adopted process" });
      expect(event).toMatchObject({ type: "exited" });
      expect(Date.now() - t0).toBeLessThan(2_000);
      stop();
      await Promise.all([restarted.remove(a.handle), restarted.remove(b.handle)]);
    } finally {
      await restarted.close();
    }
    await driver.remove(c.handle);
    await driver.remove(a.handle);
  });

  it("reports a child SIGKILLed behind its back within 2 s", async () => {
    const events: DriverEvent[] = [];
    const stop = driver.watch(nodeId, (e) => events.push(e));
    try {
      const s = await start(driver);
      const t0 = Date.now();
      process.kill(-parseProcessHandle(s.handle)!.pid, "SIGKILL");
      await waitUntil(() => events.find((e) => e.handle === s.handle), { timeoutMs: 2_000, intervalMs: 5, what: "exited event" });
      const latencyMs = Date.now() - t0;
      expect(latencyMs).toBeLessThan(2_000);
      expect((await driver.inspect(s.handle))?.state).toBe("exited");
      console.log(`driver-process watch: SIGKILL → event ${latencyMs} ms`);
      await driver.remove(s.handle);
    } finally {
      stop();
    }
  });

  it("records its cluster in the adoption file; a scoped list or watch sees only that cluster's processes and unlabelled ones", async () => {
    const other = newClusterId();
    const mine = await start(driver);
    const theirs = await start(driver, spec({ clusterId: other }));
    const legacySpec = spec();
    const legacy = await start(driver, legacySpec);
    const files = fs.readdirSync(path.join(dataDir, "sandboxes")).filter((n) => n.endsWith(".json"));
    const fileOf = (id: string) => files.find((n) => n.includes(id))!;
    const theirsFile = files.find((n) => n.startsWith(`${other}-`))!;
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, "sandboxes", theirsFile), "utf8"))).toMatchObject({ clusterId: other, nodeId });
    // A file written before cluster ids: no clusterId, the old name.
    const sandboxes = path.join(dataDir, "sandboxes");
    const legacyFile = path.join(sandboxes, fileOf(legacySpec.sandboxId));
    expect(legacyFile).toBe(path.join(sandboxes, `${clusterId}-${legacySpec.sandboxId}-1.json`));
    const { clusterId: _dropped, ...legacyRecord } = JSON.parse(fs.readFileSync(legacyFile, "utf8"));
    fs.rmSync(legacyFile);
    fs.renameSync(path.join(sandboxes, `${clusterId}-${legacySpec.sandboxId}-1`), path.join(sandboxes, `${legacySpec.sandboxId}-1`));
    fs.writeFileSync(path.join(sandboxes, `${legacySpec.sandboxId}-1.json`), JSON.stringify(legacyRecord));

    const restarted = new ProcessDriver({ dataDir, adoptedCheckIntervalMs: 50 });
    const events: DriverEvent[] = [];
    const theirEvents: DriverEvent[] = [];
    const stop = restarted.watch({ nodeId, clusterId }, (e) => events.push(e));
    const stopTheirs = restarted.watch({ nodeId, clusterId: other }, (e) => theirEvents.push(e));
    try {
      const scoped = new Map((await restarted.list({ nodeId, clusterId })).map((i) => [i.handle, i.clusterId]));
      expect(scoped).toEqual(new Map([[mine.handle, clusterId], [legacy.handle, null]]));
      expect(new Set((await restarted.list({ nodeId, clusterId: other })).map((i) => i.handle))).toEqual(new Set([theirs.handle, legacy.handle]));
      expect((await restarted.list(nodeId)).length).toBe(3);

      process.kill(-parseProcessHandle(theirs.handle)!.pid, "SIGKILL");
      process.kill(-parseProcessHandle(mine.handle)!.pid, "SIGKILL");
      await waitUntil(() => events.find((e) => e.handle === mine.handle), { timeoutMs: 5_000, what: "exited event of own adopted process" });
      await waitUntil(() => theirEvents.find((e) => e.handle === theirs.handle), { timeoutMs: 5_000, what: "exited event of the other cluster's process" });
      expect(events.map((e) => e.handle)).toEqual([mine.handle]);
      expect(theirEvents.map((e) => e.handle)).toEqual([theirs.handle]);
      await Promise.all([mine, theirs, legacy].map((x) => restarted.remove(x.handle)));
      expect(fs.readdirSync(path.join(dataDir, "sandboxes"))).toEqual([]);
    } finally {
      stop();
      stopTheirs();
      await restarted.close();
    }
  });

  it("starts and removes 200 sandboxes with bounded concurrency, leaving no process and no file", async () => {
    const count = 200;
    const concurrency = 16;
    const started: StartedSandbox[] = [];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) {
          next++;
          started.push(await start(driver));
        }
      }),
    );
    const startAllMs = performance.now() - t0;
    expect(new Set(started.map((s) => s.endpoint.ports["8080"])).size).toBe(count);
    expect(await getId(started[count - 1]!)).toMatch(/^[a-z0-9]{20}$/);
    expect((await driver.list(nodeId)).filter((i) => i.state === "running").length).toBeGreaterThanOrEqual(count);

    const t1 = performance.now();
    for (let i = 0; i < count; i += concurrency) await Promise.all(started.slice(i, i + concurrency).map((s) => driver.remove(s.handle)));
    const removeAllMs = performance.now() - t1;
    // Nothing runs once remove returns. A child the leader had not reaped when it was killed is a zombie
    // (dead, only its exit status left) until init, its parent from then on, reaps it.
    expect(leftovers().filter((p) => !p.includes("(Z)"))).toEqual([]);
    await waitUntil(() => leftovers().length === 0, { timeoutMs: 5_000, what: `init to reap ${leftovers().join(", ")}` });
    expect(fs.readdirSync(path.join(dataDir, "sandboxes"))).toEqual([]);
    console.log(`driver-process: ${count} starts in ${startAllMs.toFixed(0)} ms, ${count} removes in ${removeAllMs.toFixed(0)} ms`);
  });
});
