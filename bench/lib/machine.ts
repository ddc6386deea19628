/** What the JSON result records about where and on what code it ran. */
import { execFileSync } from "node:child_process";
import os from "node:os";

function run(cmd: string, args: string[]): string | null {
  try {
    return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 5_000 }).trim();
  } catch {
    return null;
  }
}

/** Host, runtime and git facts; a fact that cannot be read is null. */
export function machineInfo(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? null,
    memoryMB: Math.round(os.totalmem() / 2 ** 20),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    natsServer: run("nats-server", ["--version"]),
    docker: run("docker", ["version", "--format", "{{.Server.Version}}"]),
    gitCommit: run("git", ["rev-parse", "HEAD"]),
    gitDirty: (run("git", ["status", "--porcelain"]) ?? "") !== "",
    loadAverage: os.loadavg(),
  };
}
