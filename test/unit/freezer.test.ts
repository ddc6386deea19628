// The freezer cgroup lookup and its writes (src/drivers/freezer.ts), on a
// directory laid out as /proc and /sys/fs/cgroup are; the real kernel files
// are exercised by test/integration/warm-pool.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { freezerOf, type FreezerRoots } from "../../src/drivers/freezer.js";

let dir: string;
let roots: Required<FreezerRoots>;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "freezer-"));
  roots = { proc: path.join(dir, "proc"), cgroup: path.join(dir, "cgroup") };
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe("freezerOf", () => {
  it("cgroup v1: finds the freezer hierarchy's directory of the process, freezes and thaws through freezer.state", async () => {
    write(path.join(roots.proc, "42", "cgroup"), "12:pids:/docker/abc\n6:freezer:/docker/abc\n1:name=systemd:/docker/abc\n");
    const state = write(path.join(roots.cgroup, "freezer", "docker", "abc", "freezer.state"), "THAWED\n");
    const freezer = freezerOf(42, roots);
    expect(freezer).not.toBeNull();
    expect(freezer!.frozen()).toBe(false);
    await freezer!.freeze();
    expect(fs.readFileSync(state, "utf8")).toBe("FROZEN");
    expect(freezer!.frozen()).toBe(true);
    freezer!.thaw();
    expect(fs.readFileSync(state, "utf8")).toBe("THAWED");
  });

  it("cgroup v2: writes cgroup.freeze and reads frozen-ness from cgroup.events", async () => {
    write(path.join(roots.proc, "7", "cgroup"), "0::/system.slice/docker-abc.scope\n");
    const cg = path.join(roots.cgroup, "system.slice", "docker-abc.scope");
    const freeze = write(path.join(cg, "cgroup.freeze"), "0\n");
    write(path.join(cg, "cgroup.events"), "populated 1\nfrozen 1\n"); // as the kernel reports once every task is frozen
    const freezer = freezerOf(7, roots);
    await freezer!.freeze();
    expect(fs.readFileSync(freeze, "utf8")).toBe("1");
    expect(freezer!.frozen()).toBe(true);
    freezer!.thaw();
    expect(fs.readFileSync(freeze, "utf8")).toBe("0");
  });

  it("cgroup v2: a freeze that never settles is undone and reported", async () => {
    write(path.join(roots.proc, "7", "cgroup"), "0::/docker/abc\n");
    const cg = path.join(roots.cgroup, "docker", "abc");
    const freeze = write(path.join(cg, "cgroup.freeze"), "0\n");
    write(path.join(cg, "cgroup.events"), "populated 1\nfrozen 0\n");
    await expect(freezerOf(7, roots)!.freeze()).rejects.toThrow(/did not settle frozen/);
    expect(fs.readFileSync(freeze, "utf8")).toBe("0");
  });

  it("is null when the process, its freezer line or the cgroup file is not there", () => {
    expect(freezerOf(1, roots)).toBeNull();
    write(path.join(roots.proc, "2", "cgroup"), "12:pids:/docker/abc\n");
    expect(freezerOf(2, roots)).toBeNull();
    write(path.join(roots.proc, "3", "cgroup"), "6:freezer:/docker/gone\n");
    expect(freezerOf(3, roots)).toBeNull();
    write(path.join(roots.proc, "4", "cgroup"), "0::/docker/gone\n");
    expect(freezerOf(4, roots)).toBeNull();
  });
});
