/**
 * The E2B key `corral up` prints: made once for tenant `default` and kept in
 * `<data-dir>/e2b.key` (mode 0600), so a restart prints the same key instead
 * of piling up new ones; a kept key that was revoked is replaced.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import fs from "node:fs";
import path from "node:path";
import { ApiKeyStore, DEFAULT_TENANT } from "../../src/store/api-keys.js";

/** The data dir's E2B key, valid in the cluster's `corral_api_keys`. */
export async function upApiKey(nc: NatsConnection, dataDir: string): Promise<string> {
  const file = path.join(dataDir, "e2b.key");
  const keys = await ApiKeyStore.open(nc);
  let kept: string | null = null;
  try {
    kept = fs.readFileSync(file, "utf8").trim();
  } catch {
    // First start: no key yet.
  }
  if (kept && (await keys.tenantOf(kept)) !== null) return kept;
  const { key } = await keys.create(DEFAULT_TENANT);
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
