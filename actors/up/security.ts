/**
 * `corral up` closed by default (DESIGN.md "Security"): the data dir's
 * authority (created on the first run, kept after), the embedded server's
 * configuration with the resolver on, and one credentials file per role in
 * `<data-dir>/creds/<role>.creds` (0600), re-issued on every start. The
 * system credentials (for `corral creds`) go to `<data-dir>/security/`.
 */
import fs from "node:fs";
import path from "node:path";
import { Authority, writeSecret } from "../../src/security/authority.js";
import { systemCreds } from "../../src/security/claims.js";
import { issueCreds } from "../../src/security/creds.js";
import { systemCredsPath } from "../../src/security/manage.js";
import { ROLES, type Role } from "../../src/security/roles.js";
import { writeServerConfig } from "../../src/security/server-config.js";
import { newUiToken } from "../ui/login.js";

export interface SecuredUp {
  /** The nats-server configuration file to start with. */
  configFile: string;
  /** Role -> its credentials file. */
  creds: Record<Role, string>;
}

/** Where a role's credentials are under `dataDir`. */
export function roleCredsPath(dataDir: string, role: Role): string {
  return path.join(dataDir, "creds", `${role}.creds`);
}

/** Prepares everything a secured embedded NATS and its clients need. */
export async function secureUp(dataDir: string): Promise<SecuredUp> {
  const authority = Authority.loadOrCreate(dataDir);
  const configFile = await writeServerConfig(authority);
  writeSecret(systemCredsPath(dataDir), await systemCreds(authority));
  const creds = {} as Record<Role, string>;
  for (const role of ROLES) {
    const file = roleCredsPath(dataDir, role);
    writeSecret(file, (await issueCreds(authority, { role })).creds);
    creds[role] = file;
  }
  return { configFile, creds };
}

/** `<data-dir>/ui-token` (0600): the UI's login token, made on the first start and kept. Returns its path. */
export function ensureUiToken(dataDir: string): string {
  const file = path.join(dataDir, "ui-token");
  if (!fs.existsSync(file)) writeSecret(file, `${newUiToken()}\n`);
  return file;
}
