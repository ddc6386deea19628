/**
 * Process identity from /proc. A pid alone never identifies a sandbox: pids
 * are reused (pid_max is 32768 on this machine). The pair (pid, start time —
 * field 22 of /proc/<pid>/stat, in clock ticks since boot) does, so that pair
 * is the process driver's handle: `pid:<pid>:<startTime>`.
 */
import fs from "node:fs";

/** The fields of /proc/<pid>/stat the process driver reads. */
export interface ProcStat {
  pid: number;
  /** R, S, D, T (stopped), t, Z (zombie), X, I ... */
  state: string;
  /** Process group id. */
  pgrp: number;
  /** Field 22: start time in clock ticks after boot, kept as a string (exact, compared not computed). */
  startTime: string;
}

/**
 * Parses the text of /proc/<pid>/stat. The command name (field 2) is in
 * parentheses and may itself contain spaces and ")", so fields are counted
 * from the LAST ")".
 */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(")");
  if (close < 0) return null;
  const pid = Number.parseInt(text, 10);
  // After ") ": field 3 (state) is index 0, so field N is index N - 3.
  const rest = text.slice(close + 2).split(" ");
  const state = rest[0];
  const pgrp = Number(rest[5 - 3]);
  const startTime = rest[22 - 3];
  if (!state || !startTime || !Number.isInteger(pid) || !Number.isInteger(pgrp)) return null;
  return { pid, state, pgrp, startTime };
}

/** Reads /proc/<pid>/stat; null when there is no such process. Synchronous: it is a ~10 µs procfs read. */
export function readProcStat(pid: number): ProcStat | null {
  try {
    return parseProcStat(fs.readFileSync(`/proc/${pid}/stat`, "latin1"));
  } catch {
    return null;
  }
}

/** Direct children of a (single-threaded) process, from /proc/<pid>/task/<pid>/children; [] when none or gone. */
export function childrenOf(pid: number): number[] {
  try {
    const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, "latin1").trim();
    return text ? text.split(" ").map(Number) : [];
  } catch {
    return [];
  }
}

/** What a (pid, start time) pair refers to now. */
export type ProcLiveness = "running" | "stopped" | "zombie" | "gone";

/**
 * Liveness of the process a handle names: `gone` when the pid does not exist
 * or now belongs to another process (start time differs). A zombie is dead
 * (its main process has exited; only its parent can reap it).
 */
export function livenessOf(pid: number, startTime: string): ProcLiveness {
  const stat = readProcStat(pid);
  if (!stat || stat.startTime !== startTime) return "gone";
  if (stat.state === "Z" || stat.state === "X") return "zombie";
  if (stat.state === "T" || stat.state === "t") return "stopped";
  return "running";
}

/** `pid:<pid>:<startTime>`. */
export function formatProcessHandle(pid: number, startTime: string): string {
  return `pid:${pid}:${startTime}`;
}

/** Inverse of {@link formatProcessHandle}; null for anything else. */
export function parseProcessHandle(handle: string): { pid: number; startTime: string } | null {
  const m = /^pid:(\d+):(\d+)$/.exec(handle);
  if (!m) return null;
  const pid = Number(m[1]);
  return pid > 1 ? { pid, startTime: m[2]! } : null;
}

/**
 * True when `pid` or one of its children holds a socket. The process driver
 * calls it once a sandbox's port accepts connections: a TCP connect proves
 * only that *something* listens there, and another program may have bound
 * the port between the driver's probe and the sandbox's own bind, in which
 * case the sandbox's server fails to bind and exits. A live process holding a
 * socket is the one listening (it was given no other port). Cost: one readdir
 * of a few fds, independent of how many sandboxes the machine runs.
 */
export function holdsSocket(pid: number): boolean {
  for (const p of [pid, ...childrenOf(pid)]) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${p}/fd`);
    } catch {
      continue; // gone
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${p}/fd/${fd}`).startsWith("socket:")) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}
