/**
 * A container's freezer cgroup, written directly (docs/warm-pool.md, "How a
 * member is frozen").
 *
 * `docker pause` and `docker unpause` each end in one write to the
 * container's freezer cgroup, but reach it through dockerd, containerd, the
 * shim and a fresh `runc` process, which is most of what an unpause costs.
 * The warm pool freezes its members through this file itself, so that a
 * claim's thaw is one write. Docker never sees such a freeze (it lists the
 * member as running; `docker rm -f` still removes it), and nothing else in
 * Corral freezes this way: a sandbox's own pause and resume stay Docker's.
 *
 * cgroup v1: `<root>/freezer<path>/freezer.state` (`FROZEN`, `FREEZING`,
 * `THAWED`). cgroup v2: `<root><path>/cgroup.freeze` (`1`/`0`), settled
 * when `cgroup.events` says `frozen 1`. The path is the one the container's
 * main process is in (`/proc/<pid>/cgroup`), so it does not depend on
 * Docker's cgroup driver. Where that file is not there or not writable (a
 * node in a container with its own cgroup namespace, no root) there is no
 * freezer and the caller uses Docker's pause.
 */
import fs from "node:fs";
import path from "node:path";

/** Where the process and cgroup trees are (tests point them at a directory of their own). */
export interface FreezerRoots {
  /** @default "/proc" */
  proc?: string;
  /** @default "/sys/fs/cgroup" */
  cgroup?: string;
}

/** How long a freeze may stay `FREEZING` before it is given up. */
const FREEZE_TIMEOUT_MS = 2_000;

/** One container's freezer cgroup. */
export interface Freezer {
  /** Freezes every task in the cgroup; resolves once the kernel reports it frozen. @throws Error when it does not settle in time (the cgroup is thawed again). */
  freeze(): Promise<void>;
  /** Thaws the cgroup: one synchronous write. */
  thaw(): void;
  /** Whether the cgroup is frozen now. */
  frozen(): boolean;
}

/**
 * The freezer of the cgroup that process `pid` (a container's main process)
 * is in, or null when this process cannot write it.
 */
export function freezerOf(pid: number, roots: FreezerRoots = {}): Freezer | null {
  let lines: string[];
  try {
    lines = fs.readFileSync(path.join(roots.proc ?? "/proc", String(pid), "cgroup"), "utf8").split("\n");
  } catch {
    return null;
  }
  const cgroupRoot = roots.cgroup ?? "/sys/fs/cgroup";
  const v1 = lines.map((l) => l.split(":")).find(([, controllers]) => controllers?.split(",").includes("freezer"));
  if (v1 && v1[2] !== undefined) {
    const state = path.join(cgroupRoot, "freezer", v1.slice(2).join(":"), "freezer.state");
    return writable(state) ? freezerV1(state) : null;
  }
  const v2 = lines.find((l) => l.startsWith("0::"));
  if (v2 !== undefined) {
    const dir = path.join(cgroupRoot, v2.slice(3));
    return writable(path.join(dir, "cgroup.freeze")) ? freezerV2(dir) : null;
  }
  return null;
}

function writable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function freezerV1(stateFile: string): Freezer {
  const read = () => fs.readFileSync(stateFile, "utf8").trim();
  return {
    // The kernel answers FREEZING while a task has not reached the refrigerator yet; writing FROZEN again retries it.
    freeze: () => settle(() => (fs.writeFileSync(stateFile, "FROZEN"), read() === "FROZEN"), () => fs.writeFileSync(stateFile, "THAWED")),
    thaw: () => fs.writeFileSync(stateFile, "THAWED"),
    frozen: () => read() === "FROZEN",
  };
}

function freezerV2(dir: string): Freezer {
  const freezeFile = path.join(dir, "cgroup.freeze");
  const frozen = () => /^frozen 1$/m.test(fs.readFileSync(path.join(dir, "cgroup.events"), "utf8"));
  return {
    freeze: () => (fs.writeFileSync(freezeFile, "1"), settle(frozen, () => fs.writeFileSync(freezeFile, "0"))),
    thaw: () => fs.writeFileSync(freezeFile, "0"),
    frozen,
  };
}

/** Polls `done` every millisecond until it holds; after FREEZE_TIMEOUT_MS runs `undo` and throws. */
async function settle(done: () => boolean, undo: () => void): Promise<void> {
  const deadline = Date.now() + FREEZE_TIMEOUT_MS;
  while (!done()) {
    if (Date.now() > deadline) {
      undo();
      throw new Error(`the freezer cgroup did not settle frozen within ${FREEZE_TIMEOUT_MS} ms`);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}
