/**
 * Issuing and revoking credentials on a running secured cluster, without
 * restarting NATS: user JWTs need no server call (the account signs them);
 * a new tenant account and a revocation are account JWT updates pushed with
 * the system account (./claims.ts), which the server applies at once and
 * which close the revoked user's open connections.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import fs from "node:fs";
import path from "node:path";
import { InvalidArgumentError } from "../errors.js";
import { connectNats, type NatsAuthSettings } from "../nats/connection.js";
import { Authority, securityDir, writeSecret } from "./authority.js";
import { pushAccountJwt } from "./claims.js";
import { credsIdentity, issueCreds, type CredsSpec } from "./creds.js";

/** Where the system credentials of a data dir's authority are (written by `corral up`). */
export function systemCredsPath(dataDir: string): string {
  return path.join(securityDir(dataDir), "sys.creds");
}

/** How to reach the cluster's NATS as the system account. */
export interface SystemConnection {
  natsUrl?: string | undefined;
  /** TLS files; the credentials are the data dir's system credentials. */
  auth?: NatsAuthSettings;
}

async function withSystem<T>(authority: Authority, conn: SystemConnection, fn: (nc: NatsConnection) => Promise<T>): Promise<T> {
  const nc = await connectNats({
    ...(conn.natsUrl ? { natsUrl: conn.natsUrl } : {}),
    name: "corral-creds",
    auth: { ...conn.auth, creds: systemCredsPath(authority.dataDir) },
  });
  try {
    return await fn(nc);
  } finally {
    await nc.close();
  }
}

/**
 * Issues a credential into `out` (0600). A tenant credential pushes its
 * tenant's account first, every time (idempotent), so an account whose first
 * push failed reaches the server with the next issue. Returns the user's public key.
 */
export async function issueToFile(dataDir: string, spec: CredsSpec, out: string, conn: SystemConnection): Promise<{ userPublicKey: string; newTenantAccount: boolean }> {
  const authority = Authority.require(dataDir);
  const issued = await issueCreds(authority, spec);
  if (spec.tenant !== undefined) await withSystem(authority, conn, async (nc) => pushAccountJwt(nc, await authority.tenantAccountJwt(spec.tenant!)));
  writeSecret(path.resolve(out), issued.creds);
  return { userPublicKey: issued.userPublicKey, newTenantAccount: issued.newTenantAccount };
}

/** The user (and, from a creds file, account) a `revoke` argument names. */
function revokeTarget(arg: string): { userPublicKey: string; accountPublicKey: string | null } {
  if (/^U[A-Z2-7]{55}$/.test(arg)) return { userPublicKey: arg, accountPublicKey: null };
  if (!fs.existsSync(arg)) throw new InvalidArgumentError(`expected a .creds file or a user public key (U..., 56 characters), got ${JSON.stringify(arg)}`);
  return credsIdentity(arg);
}

/**
 * Revokes a user: recorded in the authority file and pushed to the server
 * in the account JWT (every account when only a public key is given).
 * Returns the accounts it was revoked in.
 */
export async function revokeUser(dataDir: string, arg: string, conn: SystemConnection): Promise<{ userPublicKey: string; accounts: string[] }> {
  const authority = Authority.require(dataDir);
  const target = revokeTarget(arg);
  const accounts = target.accountPublicKey !== null ? [target.accountPublicKey] : [authority.corral.getPublicKey(), ...authority.tenants().map((t) => authority.tenantAccount(t, false)![0].getPublicKey())];
  const jwts: string[] = [];
  for (const accountPub of accounts) {
    const found = authority.accountByPublicKey(accountPub);
    if (!found) throw new InvalidArgumentError(`the credential belongs to account ${accountPub}, which this data dir's authority did not make`);
    authority.revoke(accountPub, target.userPublicKey);
    jwts.push(found.tenant === null ? await authority.corralAccountJwt() : await authority.tenantAccountJwt(found.tenant));
  }
  await withSystem(authority, conn, async (nc) => {
    for (const jwt of jwts) await pushAccountJwt(nc, jwt);
  });
  return { userPublicKey: target.userPublicKey, accounts };
}
