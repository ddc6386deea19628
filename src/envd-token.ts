/**
 * envd access tokens: what an E2B client presents (`X-Access-Token`) to the
 * envd endpoint of a sandbox (port 49983). A token is derived, never stored:
 * HMAC-SHA256 of the sandbox's id and incarnation (`createdAt`) under the
 * cluster's envd secret (KV `corral_api_keys`, see `src/store/api-keys.ts`).
 * So the gateway can hand the same token out again on `connect`/`getInfo`
 * (as E2B does), the node can check it without any per-sandbox state, and a
 * leaked sandbox record or event carries nothing usable. A new incarnation of
 * an id (a key reused after a kill) has a new `createdAt`, so a new token.
 */
import { createHmac, timingSafeEqual } from "node:crypto";

/** Bytes of a fresh envd secret. */
export const ENVD_SECRET_BYTES = 32;

/**
 * The envd version Corral's endpoint reports to SDKs: ≥ 0.4.0, so the SDK
 * sends no default user (`user` does not exist in most images), and < 0.5.7,
 * so uploads are multipart (what the endpoint parses).
 */
export const ENVD_VERSION = "0.4.0";

/** The port E2B's SDKs reach envd on, in every sandbox. */
export const ENVD_PORT = 49983;

/** The envd token of one incarnation of a sandbox (base64url, 43 characters). */
export function deriveEnvdToken(secret: Uint8Array, sandboxId: string, createdAt: number): string {
  return createHmac("sha256", secret).update(`envd:${sandboxId}:${createdAt}`, "utf8").digest("base64url");
}

/** Whether `presented` is that incarnation's token; constant-time, and a missing token never matches. */
export function envdTokenMatches(secret: Uint8Array, sandboxId: string, createdAt: number, presented: string | undefined): boolean {
  if (presented === undefined || presented.length === 0) return false;
  const expected = Buffer.from(deriveEnvdToken(secret, sandboxId, createdAt), "utf8");
  const actual = Buffer.from(presented, "utf8");
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
