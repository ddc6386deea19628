// The process driver's check that a sandbox's port is served by the sandbox
// itself (not by another program that bound it first): /proc/net/tcp parsing
// and socket ownership, against real sockets of this and another process.
import { spawn } from "node:child_process";
import net from "node:net";
import { describe, expect, it } from "vitest";
import { listenerOwnedBy, listeningInode } from "../../src/drivers/proc.js";

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:2710 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2711 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0000000000000000 20 4 30 10 -1
   2: 00000000:2712 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 333 1 0000000000000000 100 0 0 10 0
`;

function listen(): Promise<net.Server> {
  return new Promise((resolve) => {
    const server = net.createServer().listen({ host: "127.0.0.1", port: 0 }, () => resolve(server));
  });
}

describe("listeningInode", () => {
  it("finds the LISTEN socket on loopback or any address, not an established one", () => {
    expect(listeningInode(10000, TABLE)).toBe("111");
    expect(listeningInode(10001, TABLE)).toBeNull(); // state 01 = ESTABLISHED
    expect(listeningInode(10002, TABLE)).toBe("333");
    expect(listeningInode(10003, TABLE)).toBeNull();
  });
});

describe("listenerOwnedBy", () => {
  it("is true for the listener's process and its parent, false for an unrelated process", async () => {
    const mine = await listen();
    const port = (mine.address() as net.AddressInfo).port;
    try {
      expect(listenerOwnedBy(process.pid, port)).toBe(true);
    } finally {
      mine.close();
    }
    // A process listens; an unrelated one (a sibling, not its parent) does not own the socket.
    const sibling = spawn("sleep", ["30"], { stdio: "ignore" });
    const child = spawn(process.execPath, ["-e", "require('net').createServer().listen(0,'127.0.0.1',function(){console.log(this.address().port)})"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      const other = await new Promise<number>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim()))));
      expect(listenerOwnedBy(sibling.pid!, other)).toBe(false);
      expect(listenerOwnedBy(child.pid!, other)).toBe(true);
      // Its parent owns it through the child (a template whose main process forks a server).
      expect(listenerOwnedBy(process.pid, other)).toBe(true);
    } finally {
      child.kill("SIGKILL");
      sibling.kill("SIGKILL");
    }
  });
});
