// The process driver's check that a sandbox's port is served by the sandbox
// itself (`holdsSocket`): a live process with a socket holds
// one; a process without sockets and a process that is gone do not.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { holdsSocket } from "../../src/drivers/proc.js";

function waitExit(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve() : child.once("exit", () => resolve())));
}

describe("holdsSocket", () => {
  it("is true for a listening process, false for one without sockets or one that is gone", async () => {
    const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
    const server = spawn(process.execPath, ["-e", "require('net').createServer().listen(0,'127.0.0.1',function(){console.log(this.address().port)})"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      await new Promise((resolve) => server.stdout!.once("data", resolve));
      expect(holdsSocket(server.pid!)).toBe(true);
      expect(holdsSocket(sleeper.pid!)).toBe(false);
    } finally {
      server.kill("SIGKILL");
      sleeper.kill("SIGKILL");
    }
    await waitExit(server);
    expect(holdsSocket(server.pid!)).toBe(false);
  });
});
