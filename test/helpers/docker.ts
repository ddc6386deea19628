/**
 * Docker fixture for integration tests: a real engine, a unique node id per
 * test file, and cleanup of every container labelled with it. Ids of what is
 * removed are printed when a test failed, so leaks can be traced.
 */
import Docker from "dockerode";
import { randomBytes } from "node:crypto";
import { freezerOf } from "../../src/drivers/freezer.js";
import { LABEL_POOL_MEMBER } from "../../src/drivers/labels.js";
import type { NodeId } from "../../src/ids.js";

export const SANDBOX_LABEL = "corral.sandbox-id";
export const NODE_LABEL = "corral.node-id";
const INSTALL_HINT = "no Docker engine answers: run `node scripts/bootstrap` (installs docker.io and starts dockerd)";

/** A node id unique to this test run, e.g. `test-ab12cd34`. */
export function testNodeId(prefix = "test"): NodeId {
  return `${prefix}-${randomBytes(4).toString("hex")}` as NodeId;
}

/** A dockerode client; fails loudly (never skips) when no engine answers. */
export async function requireDocker(): Promise<Docker> {
  const docker = new Docker({ socketPath: process.env.CORRAL_DOCKER_SOCKET ?? "/var/run/docker.sock" });
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(`${INSTALL_HINT} (${(err as Error).message})`);
  }
  return docker;
}

/** Containers labelled with this node id, in any state. */
export async function containersOf(docker: Docker, nodeId: string): Promise<Docker.ContainerInfo[]> {
  return docker.listContainers({ all: true, filters: { label: [`${NODE_LABEL}=${nodeId}`] } });
}

/** Removes every container of `nodeId`; returns their ids. */
export async function removeContainersOf(docker: Docker, nodeId: string): Promise<string[]> {
  const list = await containersOf(docker, nodeId);
  // One at a time: concurrent removals can deadlock Docker 20.10's network controller (see src/drivers/docker.ts).
  for (const c of list) await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined);
  return list.map((c) => c.Id.slice(0, 12));
}

/**
 * Whether a container's processes are frozen: by `docker pause`, or through
 * its freezer cgroup, as the warm pool freezes its members (Docker then
 * calls it running; src/drivers/freezer.ts).
 */
function isFrozen(info: Docker.ContainerInspectInfo): boolean {
  return info.State.Paused || (info.State.Running && info.State.Pid > 0 && freezerOf(info.State.Pid)?.frozen() === true);
}

/** `docker inspect`'s view, with "paused" for any frozen container: running / paused / exited / missing. */
export async function containerState(docker: Docker, id: string): Promise<"running" | "paused" | "exited" | "created" | "missing"> {
  try {
    const info = await docker.getContainer(id).inspect();
    if (isFrozen(info)) return "paused";
    if (info.State.Running) return "running";
    return info.State.Status === "created" ? "created" : "exited";
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return "missing";
    throw err;
  }
}

/** GET /id of a base-template sandbox at `host`, bounded: a frozen container must not answer. */
export async function getId(host: string, timeoutMs = 2_000): Promise<string> {
  const res = await fetch(`http://${host}:8080/id`, { signal: AbortSignal.timeout(timeoutMs) });
  return res.text();
}

/** The frozen (ready) warm-pool members of `nodeId`. */
export async function frozenMembersOf(docker: Docker, nodeId: string): Promise<Docker.ContainerInfo[]> {
  const members = (await containersOf(docker, nodeId)).filter((c) => c.Labels[LABEL_POOL_MEMBER] !== undefined);
  const states = await Promise.all(members.map((c) => containerState(docker, c.Id)));
  return members.filter((_, i) => states[i] === "paused");
}
