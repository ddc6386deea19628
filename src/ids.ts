/** Branded identifiers and their validation. Ids are usable in host names and KV keys. */
import { createHash, randomBytes } from "node:crypto";

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

/** 20 characters of [a-z0-9]; usable as a DNS label, a KV key and a subject token. */
export type SandboxId = Brand<string, "SandboxId">;
/** A node's name: [A-Za-z0-9_-], 1..64 characters (a subject token and KV key). */
export type NodeId = Brand<string, "NodeId">;
/**
 * A cluster's identity: made once, kept in the KV (`corral_cluster`), and put
 * on every container as `corral.cluster`. 12 characters of [a-z0-9].
 */
export type ClusterId = Brand<string, "ClusterId">;

export const SANDBOX_ID_LENGTH = 20;
export const SANDBOX_ID_PATTERN = /^[a-z0-9]{20}$/;
export const NODE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const CLUSTER_ID_LENGTH = 12;
export const CLUSTER_ID_PATTERN = /^[a-z0-9]{12}$/;
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";

export function isSandboxId(value: unknown): value is SandboxId {
  return typeof value === "string" && SANDBOX_ID_PATTERN.test(value);
}

export function isNodeId(value: unknown): value is NodeId {
  return typeof value === "string" && NODE_ID_PATTERN.test(value);
}

export function isClusterId(value: unknown): value is ClusterId {
  return typeof value === "string" && CLUSTER_ID_PATTERN.test(value);
}

/** Maps bytes onto the id alphabet. 256 % 36 bias is irrelevant for ids that only need to be unique. */
function encode(bytes: Uint8Array, length = SANDBOX_ID_LENGTH): string {
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return out;
}

/** A fresh random cluster id (~62 bits: clusters on one engine are few). */
export function newClusterId(): ClusterId {
  return encode(randomBytes(CLUSTER_ID_LENGTH), CLUSTER_ID_LENGTH) as ClusterId;
}

/** A fresh random sandbox id (~103 bits). */
export function newSandboxId(): SandboxId {
  return encode(randomBytes(SANDBOX_ID_LENGTH)) as SandboxId;
}

/**
 * Prefix of the idempotency key the client library gives a create that has
 * none (so a retry of it never makes two sandboxes). Such a key is only ever
 * retried, never reused: its killed sandbox is answered, not replaced by a
 * new incarnation (src/api/create.ts).
 */
export const CLIENT_KEY_PREFIX = "corral-client:";

/**
 * The id of the sandbox for an idempotency key: the same key always names the
 * same id, so concurrent creates with one key contend on one KV key. A
 * tenant's key is scoped to it (`tenant`), an admin's (null) is not.
 */
export function sandboxIdForKey(key: string, tenant: string | null = null): SandboxId {
  // A tenant's keys live in their own space: two tenants using one key name two sandboxes.
  // Tenant names have no NUL, and the prefixes differ, so no two (tenant, key) pairs share a hash input.
  if (tenant !== null) return encode(createHash("sha256").update("corral.tenant-key:").update(tenant).update("\0").update(key).digest()) as SandboxId;
  return encode(createHash("sha256").update("corral.key:").update(key).digest()) as SandboxId;
}

export function asNodeId(value: string): NodeId {
  if (!isNodeId(value)) throw new TypeError(`invalid node id ${JSON.stringify(value)}: use 1-64 of [A-Za-z0-9_-]`);
  return value;
}
