/** Port checks of `corral up`: nothing may already listen where a child is about to. */
import net from "node:net";
import { UnavailableError } from "../../src/errors.js";

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}

/**
 * Refuses a port that is taken: a readiness probe would otherwise take the
 * foreign server's answer for the child's.
 * @throws UnavailableError naming the flag that chooses another port
 */
export async function requireFreePort(port: number, flag: string): Promise<void> {
  if (await portAnswers(port)) throw new UnavailableError(`port ${port} is already in use: stop what listens there or pass ${flag}`);
}
