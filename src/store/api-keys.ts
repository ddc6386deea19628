/**
 * KV `corral_api_keys`: the E2B gateway's API keys and the cluster's envd
 * secret. Shared by every gateway replica (and read by nodes for the
 * secret), so a key made with `corral keys create` works on all of them and
 * a revoke takes effect on the next request.
 *
 * - `key.<prefix>` -> `{prefix, tenant, hash, createdAt}` (JSON). A key is
 *   `e2b_<40 hex>`; its prefix is `e2b_` plus the first 8 hex (what
 *   `keys ls` shows and `keys revoke` takes); `hash` is the sha256 hex of the
 *   whole key. The key itself is printed once and never stored.
 * - `secret.envd` -> 32 random bytes, made by the first process that needs
 *   it (`create`, so concurrent first users agree on one).
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/nats-core";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { z } from "zod";
import { resolveConfig, type CorralConfig } from "../config.js";
import { InvalidArgumentError, NotFoundError } from "../errors.js";
import { ENVD_SECRET_BYTES } from "../envd-token.js";
import { API_KEYS_BUCKET } from "../subjects.js";
import { TENANT_PATTERN } from "../schema/record.js";
import { openSettingsBucket } from "./buckets.js";
import { mapStoreError } from "./kv-errors.js";

/** `e2b_` + 40 lower-case hex: the shape E2B's keys have. */
export const API_KEY_PATTERN = /^e2b_[0-9a-f]{40}$/;
/** What `keys revoke` takes: `e2b_` + 8..40 hex. */
export const API_KEY_PREFIX_PATTERN = /^e2b_[0-9a-f]{8}$/;
/** The tenant of a key created without `--tenant` (and of `corral up`'s key). */
export const DEFAULT_TENANT = "default";

const KEY_RECORD = z.strictObject({
  prefix: z.string().regex(API_KEY_PREFIX_PATTERN),
  tenant: z.string().regex(TENANT_PATTERN),
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.number().int().nonnegative(),
});
/** A stored key (its hash, never the key). */
export type ApiKeyRecord = z.infer<typeof KEY_RECORD>;

const SECRET_KEY = "secret.envd";
const keyOf = (prefix: string) => `key.${prefix}`;
const sha256Hex = (s: string) => createHash("sha256").update(s, "utf8").digest("hex");

/** Opens (creating when absent) `corral_api_keys`: file storage, history 1, at least `config.replicas` replicas. */
export function openApiKeyBucket(nc: NatsConnection, config: Pick<CorralConfig, "replicas"> = resolveConfig()): Promise<KV> {
  return openSettingsBucket(nc, API_KEYS_BUCKET, config);
}

/** The API keys and envd secret of one cluster. */
export class ApiKeyStore {
  readonly #kv: KV;
  #secret: Uint8Array | null = null;

  private constructor(kv: KV) {
    this.#kv = kv;
  }

  /** @param config replicas of the bucket when this opens it first (never lowered). @default resolveConfig() ($CORRAL_REPLICAS) */
  static async open(nc: NatsConnection, config?: Pick<CorralConfig, "replicas">): Promise<ApiKeyStore> {
    return new ApiKeyStore(await openApiKeyBucket(nc, config));
  }

  /** Makes a key for `tenant`; the returned `key` is the only copy there will ever be. */
  async create(tenant: string = DEFAULT_TENANT): Promise<{ key: string; tenant: string; prefix: string }> {
    if (!TENANT_PATTERN.test(tenant)) throw new InvalidArgumentError(`tenant: expected 1-63 of [a-z0-9_-] starting with [a-z0-9], got ${JSON.stringify(tenant)}`);
    const key = `e2b_${randomBytes(20).toString("hex")}`;
    const prefix = key.slice(0, 12);
    const record: ApiKeyRecord = { prefix, tenant, hash: sha256Hex(key), createdAt: Date.now() };
    try {
      // `create`: a prefix collision (2^-32 per pair) fails instead of replacing a key.
      await this.#kv.create(keyOf(prefix), JSON.stringify(record));
    } catch (err) {
      throw mapStoreError(err, { op: "create api key" });
    }
    return { key, tenant, prefix };
  }

  /** Every key's record, oldest first. */
  async list(): Promise<ApiKeyRecord[]> {
    const out: ApiKeyRecord[] = [];
    try {
      const keys = await this.#kv.keys("key.*");
      for await (const k of keys) {
        const entry = await this.#kv.get(k);
        if (!entry || entry.operation !== "PUT") continue;
        const parsed = KEY_RECORD.safeParse(entry.json());
        if (parsed.success) out.push(parsed.data);
      }
    } catch (err) {
      throw mapStoreError(err, { op: "list api keys" });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  /** Revokes the key with this prefix; `not_found` when there is none. */
  async revoke(prefix: string): Promise<void> {
    if (!API_KEY_PREFIX_PATTERN.test(prefix)) throw new InvalidArgumentError(`prefix: expected e2b_ and 8 hex digits (as \`corral keys ls\` shows), got ${JSON.stringify(prefix)}`);
    try {
      const entry = await this.#kv.get(keyOf(prefix));
      if (!entry || entry.operation !== "PUT") throw new NotFoundError(`no API key with prefix ${prefix}`);
      await this.#kv.delete(keyOf(prefix));
    } catch (err) {
      if (err instanceof NotFoundError) throw err;
      throw mapStoreError(err, { op: "revoke api key" });
    }
  }

  /** The tenant of a valid key, or null (malformed, unknown, revoked). Hashes compared in constant time. */
  async tenantOf(key: string | undefined): Promise<string | null> {
    if (key === undefined || !API_KEY_PATTERN.test(key)) return null;
    let entry;
    try {
      entry = await this.#kv.get(keyOf(key.slice(0, 12)));
    } catch (err) {
      throw mapStoreError(err, { op: "read api key" });
    }
    if (!entry || entry.operation !== "PUT") return null;
    const parsed = KEY_RECORD.safeParse(entry.json());
    if (!parsed.success) return null;
    const ok = timingSafeEqual(Buffer.from(sha256Hex(key), "hex"), Buffer.from(parsed.data.hash, "hex"));
    return ok ? parsed.data.tenant : null;
  }

  /** The cluster's envd secret, made on first use; cached (it never changes). */
  async envdSecret(): Promise<Uint8Array> {
    if (this.#secret) return this.#secret;
    try {
      const existing = await this.#kv.get(SECRET_KEY);
      if (existing && existing.operation === "PUT" && existing.value.length === ENVD_SECRET_BYTES) return (this.#secret = existing.value);
      try {
        const fresh = randomBytes(ENVD_SECRET_BYTES);
        await this.#kv.create(SECRET_KEY, fresh);
        return (this.#secret = fresh);
      } catch {
        // Another process made it first: use theirs.
        const entry = await this.#kv.get(SECRET_KEY);
        if (!entry || entry.value.length !== ENVD_SECRET_BYTES) throw new Error("envd secret is missing or malformed");
        return (this.#secret = entry.value);
      }
    } catch (err) {
      throw mapStoreError(err, { op: "read envd secret" });
    }
  }
}
