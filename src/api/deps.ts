/** What the API handlers need: a connection, the stores, config, templates and a logger. */
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { NodeSuccess, SandboxNodeCommand } from "../node-protocol.js";
import type { NodeRegistry } from "../store/node-registry.js";
import type { SandboxStore } from "../store/sandbox-store.js";
import type { TemplateRegistry } from "../templates.js";

/** Dependencies of the `corral` service's handlers (one set per serving process). */
export interface ApiDeps {
  nc: NatsConnection;
  store: SandboxStore;
  nodes: NodeRegistry;
  config: CorralConfig;
  templates: TemplateRegistry;
  log: Logger;
  /**
   * The node actor of this same process, when the API runs inside a node:
   * a command on a sandbox it hosts runs in its mailbox directly, skipping
   * the KV read that finds the owner and the NATS hop to it. Returns null
   * for a sandbox it does not host (then the command is routed as usual).
   */
  local?: (command: Exclude<SandboxNodeCommand, { op: "create" }>) => Promise<NodeSuccess> | null;
}
