/**
 * Validation of the NodeCommands a node receives (src/node-protocol.ts). The
 * API validated and resolved every request already, but a node is reachable
 * by anyone on the bus: a malformed command must become `invalid_argument`,
 * never a crash or a half-applied operation.
 */
import { z } from "zod";
import { decodeMsgpack } from "../../src/codec.js";
import { InvalidArgumentError } from "../../src/errors.js";
import type { NodeCommand } from "../../src/node-protocol.js";
import { LifecycleSchema, MetadataSchema, ResourcesSchema, SandboxIdSchema, TemplateNameSchema, TenantSchema } from "../../src/schema/record.js";
import { EnvSchema, REFRESH_MAX_MS } from "../../src/schema/requests.js";
import { NODE_OPS, type NodeOp } from "../../src/subjects.js";

const ms = (min: number) => z.number().int().min(min);

const CreateSpecSchema = z.strictObject({
  template: TemplateNameSchema,
  timeoutMs: ms(1),
  expiration: z.enum(["ttl", "manual"]),
  lifecycle: LifecycleSchema,
  metadata: MetadataSchema,
  env: EnvSchema,
  resources: ResourcesSchema,
  secure: z.boolean(),
  key: z.string().min(1).max(256).nullable(),
  tenant: TenantSchema.nullable(),
});

const NodeCommandSchema = z.discriminatedUnion("op", [
  z.strictObject({ op: z.literal("create"), sandboxId: SandboxIdSchema, spec: CreateSpecSchema }),
  z.strictObject({ op: z.enum(["get", "kill", "pause"]), sandboxId: SandboxIdSchema }),
  z.strictObject({ op: z.enum(["resume", "connect"]), sandboxId: SandboxIdSchema, timeoutMs: ms(1).optional() }),
  z.strictObject({ op: z.literal("set_timeout"), sandboxId: SandboxIdSchema, timeoutMs: ms(0) }),
  z.strictObject({ op: z.literal("refresh"), sandboxId: SandboxIdSchema, durationMs: ms(1).max(REFRESH_MAX_MS) }),
  z.strictObject({ op: z.literal("reconcile") }),
]);

/** The op a command subject names (`corral.v1.node.<nodeId>.<op>`), or null. */
export function opOfSubject(subject: string): NodeOp | null {
  const op = subject.slice(subject.lastIndexOf(".") + 1);
  return (NODE_OPS as readonly string[]).includes(op) ? (op as NodeOp) : null;
}

/**
 * Decodes and validates a command; its `op` must match the subject's.
 * Config-dependent ranges (`timeoutMs <= maxTimeoutMs`) are checked by the
 * caller with the deadline rules.
 * @throws InvalidArgumentError naming the first problem
 */
export function parseNodeCommand(subject: string, bytes: Uint8Array): NodeCommand {
  let raw: unknown;
  try {
    raw = decodeMsgpack(bytes);
  } catch (err) {
    throw new InvalidArgumentError("node command is not valid msgpack", { cause: err });
  }
  const parsed = NodeCommandSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(`invalid node command: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "malformed"}`);
  }
  const op = opOfSubject(subject);
  if (op !== parsed.data.op) throw new InvalidArgumentError(`node command op ${parsed.data.op} does not match subject ${subject}`);
  return parsed.data as NodeCommand;
}
