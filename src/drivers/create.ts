/** Builds the driver a node runs with, by kind. */
import path from "node:path";
import { DockerDriver } from "./docker.js";
import { ProcessDriver } from "./process.js";
import type { DriverKind, SandboxDriver } from "./types.js";

/** Options of {@link createDriver}. */
export interface CreateDriverOptions {
  /** The node's data directory; the process driver keeps `<dataDir>/sandboxes/` there. */
  dataDir: string;
}

/** A driver of `kind`: docker (dockerode on the engine socket) or process (a process group per sandbox). */
export function createDriver(kind: DriverKind, options: CreateDriverOptions): SandboxDriver {
  return kind === "docker" ? new DockerDriver() : new ProcessDriver({ dataDir: path.resolve(options.dataDir) });
}
