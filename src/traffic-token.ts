/**
 * Traffic tokens: the secret a client presents to the proxy to reach a
 * `secure` sandbox. The node creates one per sandbox and returns it once; the
 * record keeps only its sha256 (`internal.tokenHash`), so a leaked KV or event
 * never leaks a usable token.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/** Bytes of randomness in a token (256 bits). */
export const TRAFFIC_TOKEN_BYTES = 32;

/** A fresh token: 32 random bytes, base64url (43 characters, header-safe). */
export function newTrafficToken(): string {
  return randomBytes(TRAFFIC_TOKEN_BYTES).toString("base64url");
}

/** The sha256 hex digest of a token: what `internal.tokenHash` holds. */
export function hashTrafficToken(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex");
}

const HEX_SHA256 = /^[0-9a-f]{64}$/;

/**
 * Whether `presented` is the token whose hash is `hash`. The comparison of the
 * digests is constant-time; hashing first also makes the time independent of
 * the presented token's length. A missing token or a malformed hash never
 * matches.
 */
export function trafficTokenMatches(presented: string | undefined, hash: string): boolean {
  if (presented === undefined || presented.length === 0 || !HEX_SHA256.test(hash)) return false;
  const actual = createHash("sha256").update(presented, "utf8").digest();
  return timingSafeEqual(actual, Buffer.from(hash, "hex"));
}
