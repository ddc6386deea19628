/**
 * User credentials: a user JWT (signed by its account) plus the user's seed,
 * in the `.creds` format nats.js, the `nats` CLI and nats-server tools read.
 * A role's permissions (./roles.ts) are copied into the JWT, so the NATS
 * server enforces them without any call back to Corral.
 */
import { createUser } from "@nats-io/nkeys";
import { decode, encodeUser, fmtCreds } from "@nats-io/jwt";
import fs from "node:fs";
import { InvalidArgumentError } from "../errors.js";
import { TENANT_PATTERN } from "../schema/record.js";
import type { Authority } from "./authority.js";
import { ROLE_PERMISSIONS, TENANT_CLIENT_PERMISSIONS, isRole, type Role, type RolePermissions } from "./roles.js";

/** What a credential is for. */
export interface CredsSpec {
  role: Role;
  /** Only with role `client`: the tenant it acts as. */
  tenant?: string | undefined;
}

/** An issued credential: the file's text (a secret) and the user's public key (what `revoke` takes). */
export interface IssuedCreds {
  creds: string;
  userPublicKey: string;
  accountPublicKey: string;
}

/** Checks a role/tenant pair from the command line. */
export function parseCredsSpec(role: string | undefined, tenant: string | undefined): CredsSpec {
  if (!role || !isRole(role)) throw new InvalidArgumentError(`--role: expected one of admin, client, node, proxy, ui, gateway, got ${JSON.stringify(role ?? "")}`);
  if (tenant === undefined) return { role };
  if (role !== "client") throw new InvalidArgumentError(`--tenant: only a client credential belongs to a tenant (got --role ${role})`);
  if (!TENANT_PATTERN.test(tenant)) throw new InvalidArgumentError(`--tenant: must be 1-63 characters of [a-z0-9_-], starting with [a-z0-9]; got ${JSON.stringify(tenant)}`);
  return { role, tenant };
}

/** The inbox prefix of a user: `_INBOX.<user public key>` (its credential may subscribe only there). */
export function ownInboxPrefix(userPublicKey: string): string {
  return `_INBOX.${userPublicKey}`;
}

/**
 * The JWT limits of `permissions` for one user. "Its inbox" (`_INBOX.>` in
 * the role data) becomes the user's own `_INBOX.<user>.>`: users of one
 * account cannot read each other's replies (a create's traffic token, a
 * node's answers). Clients find the prefix in their credential
 * (src/nats/connection.ts).
 */
function limitsOf(permissions: RolePermissions | null, userPublicKey: string): Record<string, unknown> {
  const unlimited = { subs: -1, data: -1, payload: -1 };
  if (!permissions) return unlimited;
  const own = (subject: string) => (subject === "_INBOX.>" ? `${ownInboxPrefix(userPublicKey)}.>` : subject);
  return { ...unlimited, pub: permissions.pub, sub: { ...permissions.sub, allow: permissions.sub.allow?.map(own) } };
}

/**
 * Issues a credential. A tenant credential needs its tenant's account to
 * exist on the server (the caller pushes the account JWT, ./manage.ts);
 * `newTenantAccount` says whether this call created the account.
 */
export async function issueCreds(authority: Authority, spec: CredsSpec): Promise<IssuedCreds & { newTenantAccount: boolean }> {
  const user = createUser();
  let account = authority.corral;
  let permissions = ROLE_PERMISSIONS[spec.role];
  let newTenantAccount = false;
  const tags = [`corral-role:${spec.role}`];
  if (spec.tenant !== undefined) {
    const [kp, created] = authority.tenantAccount(spec.tenant, true)!;
    account = kp;
    newTenantAccount = created;
    permissions = TENANT_CLIENT_PERMISSIONS;
    tags.push(`corral-tenant:${spec.tenant}`);
  }
  const name = spec.tenant === undefined ? `corral-${spec.role}` : `corral-${spec.role}-${spec.tenant}`;
  const jwt = await encodeUser(name, user, account, { ...limitsOf(permissions, user.getPublicKey()), tags });
  const creds = new TextDecoder().decode(fmtCreds(jwt, user));
  return { creds, userPublicKey: user.getPublicKey(), accountPublicKey: account.getPublicKey(), newTenantAccount };
}

/** The user and account public keys of a `.creds` file (its JWT; the seed is not read). */
export function credsIdentity(file: string): { userPublicKey: string; accountPublicKey: string } {
  const text = fs.readFileSync(file, "utf8");
  const m = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_.-]+)\s*------END NATS USER JWT------/.exec(text);
  if (!m) throw new InvalidArgumentError(`${file}: not a NATS credentials file`);
  const claims = decode<{ issuer_account?: string }>(m[1]!);
  if (!claims.sub || !claims.iss) throw new InvalidArgumentError(`${file}: its JWT names no user or issuer`);
  return { userPublicKey: claims.sub, accountPublicKey: claims.nats?.issuer_account ?? claims.iss };
}
