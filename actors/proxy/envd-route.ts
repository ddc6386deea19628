/**
 * The proxy's one rule for E2B's envd (DESIGN.md, "E2B compatibility"):
 * port 49983 of a sandbox is not a port inside it but the envd endpoint of
 * the node that owns it (`envd` in that node's record in `corral_nodes`),
 * under the path `/envd/<sandboxId><path>`. And where the gate refuses a
 * sandbox that is not running (404/409/410), envd's answer is 502, which
 * E2B's SDK reads as "not running".
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { CorralConfig } from "../../src/config.js";
import { ENVD_PORT } from "../../src/envd-token.js";
import type { NodeId } from "../../src/ids.js";
import type { Logger } from "../../src/log.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { NodeRegistry } from "../../src/store/node-registry.js";
import type { Upstream } from "./upstream.js";

export { ENVD_PORT };

/** The envd addresses of live nodes, kept current by a watch of `corral_nodes`. */
export class EnvdRoutes {
  readonly #addresses = new Map<NodeId, Upstream>();
  #unwatch: (() => void) | null = null;

  /** Opens the node bucket and starts watching; resolves at once (addresses arrive with the watch). */
  async start(nc: NatsConnection, config: CorralConfig, log: Logger): Promise<void> {
    const registry = await NodeRegistry.open(nc, config);
    this.#unwatch = registry.watch((nodeId, record) => {
      const upstream = record?.envd ? parseAddress(record.envd) : null;
      if (upstream) this.#addresses.set(nodeId, upstream);
      else this.#addresses.delete(nodeId);
    });
    log.debug("watching node envd addresses");
  }

  /** Where envd of `record`'s sandbox is served, or the client-safe reason it is not. */
  upstream(record: StoredSandbox): Upstream | string {
    return this.#addresses.get(record.nodeId) ?? "the sandbox's node serves no envd endpoint";
  }

  close(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }
}

/** `host:port` (IPv6 as `[h]:p`) -> Upstream, or null. */
export function parseAddress(address: string): Upstream | null {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return null;
  const port = Number(address.slice(colon + 1));
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return Number.isInteger(port) && port >= 1 && port <= 65535 && host.length > 0 ? { host, port } : null;
}

/** The path envd is asked for: `/envd/<sandboxId>` + the request's. */
export function envdPath(sandboxId: string, path: string): string {
  return `/envd/${sandboxId}${path.startsWith("/") ? path : `/${path}`}`;
}

/** The status to answer on the envd port for a refusal of the gate. */
export function envdRefusalStatus(status: number): number {
  return status === 404 || status === 409 || status === 410 ? 502 : status;
}
