/** What the API handlers need: a connection, the stores, config, templates and a logger. */
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralConfig } from "../config.js";
import type { Logger } from "../log.js";
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
}
