/**
 * The second stage of a create's options: every default applied and every
 * config-dependent range checked, at the edge, before any state is read.
 */
import type { CorralConfig } from "../config.js";
import { InvalidArgumentError } from "../errors.js";
import type { CreateSpec } from "../node-protocol.js";
import type { CreateRequest } from "../schema/requests.js";
import type { Resources } from "../schema/record.js";
import type { TemplateRegistry } from "../templates.js";

/** @default cpu 1, memoryMB 512 (DESIGN.md record example) */
export const DEFAULT_RESOURCES: Resources = { cpu: 1, memoryMB: 512 };

/** `timeoutMs` must be within `min..maxTimeoutMs` (server config). */
export function checkTimeoutRange(field: string, value: number | undefined, min: number, config: CorralConfig): void {
  if (value === undefined) return;
  if (value < min || value > config.maxTimeoutMs) {
    throw new InvalidArgumentError(`${field}: must be an integer from ${min} to ${config.maxTimeoutMs} (ms), got ${value}`);
  }
}

export function resolveCreate(req: CreateRequest, config: CorralConfig, templates: TemplateRegistry): CreateSpec {
  checkTimeoutRange("timeoutMs", req.timeoutMs, 1, config);
  const template = templates.get(req.template ?? "base").name;
  return {
    template,
    timeoutMs: req.timeoutMs ?? config.defaultTimeoutMs,
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
  };
}
