/**
 * The second stage of a create's options: every default applied and every
 * config-dependent range checked, at the edge, before any state is read.
 */
import type { CorralConfig } from "../config.js";
import { resolveCreateTimeoutMs } from "../lifecycle/deadline.js";
import type { CreateSpec } from "../node-protocol.js";
import type { CreateRequest } from "../schema/requests.js";
import type { Resources } from "../schema/record.js";
import type { TemplateRegistry } from "../templates.js";

/** @default cpu 1, memoryMB 512 (DESIGN.md record example) */
export const DEFAULT_RESOURCES: Resources = { cpu: 1, memoryMB: 512 };

/**
 * A validated create request -> the complete spec a node receives, for
 * `tenant` (null: an admin create).
 * @throws InvalidArgumentError for a timeout above `maxTimeoutMs` or an unknown template
 */
export function resolveCreate(req: CreateRequest, config: CorralConfig, templates: TemplateRegistry, tenant: string | null = null): CreateSpec {
  const timeoutMs = resolveCreateTimeoutMs(req.timeoutMs, config);
  const template = templates.get(req.template ?? "base").name;
  return {
    template,
    timeoutMs,
    expiration: req.expiration ?? "ttl",
    lifecycle: {
      onTimeout: req.lifecycle?.onTimeout ?? "kill",
      autoResume: req.lifecycle?.autoResume ?? false,
      idle: req.lifecycle?.idle ?? false,
    },
    metadata: req.metadata ?? {},
    env: req.env ?? {},
    resources: { cpu: req.resources?.cpu ?? DEFAULT_RESOURCES.cpu, memoryMB: req.resources?.memoryMB ?? DEFAULT_RESOURCES.memoryMB },
    secure: req.secure ?? true,
    key: req.key ?? null,
    tenant,
  };
}
