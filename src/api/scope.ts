/**
 * Who an API request acts as. A request on `corral.v1.sandbox.<op>` acts as
 * admin (every sandbox; creates untenanted ones); one on
 * `corral.v1.tenant.<tenant>.sandbox.<op>` acts as that tenant: it creates
 * sandboxes of that tenant and sees no other. The tenant comes from the
 * subject, which NATS permissions/accounts let only that tenant's credential
 * publish (docs/security.md), never from a request field.
 */
import { InvalidArgumentError } from "../errors.js";
import { TENANT_PATTERN, type StoredSandbox } from "../schema/record.js";
import { tenantOfSubject } from "../subjects.js";

/** `tenant: null` is admin. */
export interface ApiScope {
  tenant: string | null;
}

export const ADMIN_SCOPE: ApiScope = Object.freeze({ tenant: null });

/** The scope of a request by the subject it arrived on; a malformed tenant name is `invalid_argument`. */
export function scopeOfSubject(subject: string): ApiScope {
  const tenant = tenantOfSubject(subject);
  if (tenant === null) return ADMIN_SCOPE;
  if (!TENANT_PATTERN.test(tenant)) throw new InvalidArgumentError(`tenant ${JSON.stringify(tenant)}: must be 1-63 characters of [a-z0-9_-], starting with [a-z0-9]`);
  return { tenant };
}

/** True when `scope` may see `record`: admin sees all, a tenant only its own. */
export function canSee(scope: ApiScope, record: Pick<StoredSandbox, "tenant">): boolean {
  return scope.tenant === null || record.tenant === scope.tenant;
}
