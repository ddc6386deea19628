/**
 * Starting a node's envd endpoint: the executor of its driver, the envd
 * secret from `corral_api_keys` (opened on the first request that needs it,
 * so a node never used through E2B touches no extra bucket), and the
 * address it publishes in its node record for the proxies.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import { DockerExecutor } from "../../../src/drivers/docker-exec.js";
import type { SandboxExecutor } from "../../../src/drivers/exec.js";
import { ProcessExecutor } from "../../../src/drivers/process-exec.js";
import type { DriverKind } from "../../../src/drivers/types.js";
import type { SandboxId } from "../../../src/ids.js";
import type { Logger } from "../../../src/log.js";
import type { StoredSandbox } from "../../../src/schema/record.js";
import { ApiKeyStore } from "../../../src/store/api-keys.js";
import { EnvdServer } from "./server.js";

/** Where a node's envd listens and what it publishes. */
export interface NodeEnvdOptions {
  /** Listen address. @default "127.0.0.1" (env CORRAL_ENVD_HOST) */
  host?: string;
  /** Listen port; 0 picks one. @default 0 (env CORRAL_ENVD_PORT) */
  port?: number;
  /** Host the proxies reach it at (published as `<advertise>:<port>`). @default the listen host, or 127.0.0.1 for 0.0.0.0 (env CORRAL_ENVD_ADVERTISE) */
  advertise?: string;
  /** Largest file up or down through envd. @default 104857600 */
  maxFileBytes?: number;
}

/** A running envd endpoint. */
export interface NodeEnvd {
  /** `host:port` for the node record. */
  readonly address: string;
  close(): Promise<void>;
}

/** The options from the environment (flags override them in `corral node`). */
export function envdOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): NodeEnvdOptions {
  const port = env.CORRAL_ENVD_PORT ? Number(env.CORRAL_ENVD_PORT) : undefined;
  return {
    ...(env.CORRAL_ENVD_HOST ? { host: env.CORRAL_ENVD_HOST } : {}),
    ...(port !== undefined && Number.isInteger(port) && port >= 0 && port <= 65535 ? { port } : {}),
    ...(env.CORRAL_ENVD_ADVERTISE ? { advertise: env.CORRAL_ENVD_ADVERTISE } : {}),
  };
}

/** Starts the endpoint of one node. */
export async function startNodeEnvd(deps: {
  nc: NatsConnection;
  /** Replicas of `corral_api_keys` when this node opens it first. */
  replicas: number;
  driver: DriverKind;
  lookup: (id: SandboxId) => StoredSandbox | null;
  log: Logger;
  options?: NodeEnvdOptions;
}): Promise<NodeEnvd> {
  const options = { ...envdOptionsFromEnv(), ...deps.options };
  const executor: SandboxExecutor = deps.driver === "docker" ? new DockerExecutor() : new ProcessExecutor();
  let keys: Promise<ApiKeyStore> | null = null;
  const server = new EnvdServer({
    lookup: deps.lookup,
    executor,
    log: deps.log.child({ component: "envd" }),
    ...(options.maxFileBytes ? { maxFileBytes: options.maxFileBytes } : {}),
    secret: async () => {
      keys ??= ApiKeyStore.open(deps.nc, { replicas: deps.replicas });
      try {
        return await (await keys).envdSecret();
      } catch (err) {
        keys = null;
        throw err;
      }
    },
  });
  const host = options.host ?? "127.0.0.1";
  const port = await server.listen({ host, port: options.port ?? 0 });
  const advertise = options.advertise ?? (host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host);
  return { address: `${advertise}:${port}`, close: () => server.close() };
}
