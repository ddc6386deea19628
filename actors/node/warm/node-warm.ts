/**
 * A node's warm pool and its claims, made from the node's options
 * (DESIGN.md "Warm pool"; docs/warm-pool.md). Members are made with a
 * create's default resources, so exactly the creates that leave `resources`
 * and `env` out can take one.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { DEFAULT_RESOURCES } from "../../../src/api/resolve-create.js";
import type { SandboxDriver } from "../../../src/drivers/types.js";
import { InvalidArgumentError } from "../../../src/errors.js";
import { newSandboxId, type ClusterId, type NodeId } from "../../../src/ids.js";
import type { Logger } from "../../../src/log.js";
import type { TemplateRegistry } from "../../../src/templates.js";
import type { CapacityLedger } from "../capacity.js";
import { WarmClaims } from "./claims.js";
import { WarmPool, type PoolDriver } from "./pool.js";
import type { WarmSpec } from "./warm-spec.js";

/**
 * Where a claim writes the sandbox's id inside the member: the base image's
 * httpd serves `/www/id`, read at request time (docs/warm-pool.md says what a
 * custom template's main process sees).
 */
export const WARM_ID_FILE = "/www/id";

/** How long after a claim its refill waits (./pool.ts `refillDelayMs`): past the caller's first requests to the new sandbox. */
export const REFILL_DELAY_MS = 100;

/** What the node builds its pool from. */
export interface NodeWarmOptions {
  spec: WarmSpec;
  driver: SandboxDriver;
  nodeId: NodeId;
  clusterId: ClusterId;
  templates: TemplateRegistry;
  ledger: CapacityLedger;
  /**
   * Where the members' id files live on the host (bind-mounted into them;
   * emptied here at start-up: members of an earlier run are orphans).
   * @default <tmpdir>/corral-warm-<nodeId>
   */
  dir?: string;
  log: Logger;
  /** Ready counts changed (the lease writes early). */
  onChange: () => void;
}

/** A node's pool and the claims the create path makes from it. */
export interface NodeWarm {
  pool: WarmPool;
  claims: WarmClaims;
}

function poolDriver(driver: SandboxDriver): PoolDriver | null {
  return "claimMember" in driver && typeof driver.claimMember === "function" ? (driver as SandboxDriver & PoolDriver) : null;
}

/**
 * The node's warm pool, or null when the spec names no template.
 * @throws InvalidArgumentError when the driver cannot keep members (only the docker driver can)
 */
export function nodeWarm(opts: NodeWarmOptions): NodeWarm | null {
  if (opts.spec.size === 0) return null;
  const driver = poolDriver(opts.driver);
  if (!driver) throw new InvalidArgumentError(`--warm needs the docker driver (this node runs the ${opts.driver.kind} driver)`);
  const memberDir = path.resolve(opts.dir ?? path.join(os.tmpdir(), `corral-warm-${opts.nodeId}`));
  fs.rmSync(memberDir, { recursive: true, force: true });
  const pool = new WarmPool({
    driver,
    nodeId: opts.nodeId,
    clusterId: opts.clusterId,
    spec: opts.spec,
    template: (name) => opts.templates.get(name),
    resources: DEFAULT_RESOURCES,
    reserve: (need) => opts.ledger.reserve(need),
    newMemberId: newSandboxId,
    idFile: WARM_ID_FILE,
    memberDir,
    refillDelayMs: REFILL_DELAY_MS,
    onError: (err, template, retryInMs) => opts.log.warn({ template, retryInMs, err: (err as Error).message }, "warm pool: could not start a member; the template is tried again later"),
    onChange: opts.onChange,
  });
  return { pool, claims: new WarmClaims(pool, DEFAULT_RESOURCES, opts.log) };
}
