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

/** Inode of the socket listening on 127.0.0.1:`port` (or any address) per /proc/net/tcp; null when none. */
export function listeningInode(port: number, tcpTable: string = readOr("/proc/net/tcp")): string | null {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  for (const line of tcpTable.split("\n").slice(1)) {
    const cols = line.trim().split(/\s+/);
    // cols: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
    const local = cols[1];
    if (!local || cols[3] !== "0A") continue; // 0A = LISTEN
    const [ip, p] = local.split(":");
    if (p === hexPort && (ip === "0100007F" || ip === "00000000")) return cols[9] ?? null;
  }
  return null;
}

/**
 * True when the socket listening on `port` belongs to `pid` or one of its
 * children. A readiness probe that connects only proves that *something*
 * listens there: another program may have bound the port between the
 * driver's probe and the sandbox's own bind (whose process then exits).
 */
export function listenerOwnedBy(pid: number, port: number): boolean {
  const inode = listeningInode(port);
  if (inode === null) return false;
  const target = `socket:[${inode}]`;
  for (const p of [pid, ...childrenOf(pid)]) {
    let fds: string[];
    try {
      fds = fs.readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (fs.readlinkSync(`/proc/${p}/fd/${fd}`) === target) return true;
      } catch {
        // closed meanwhile
      }
    }
  }
  return false;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, "latin1");
  } catch {
    return "";
  }
}
