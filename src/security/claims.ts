/**
 * Pushing account JWTs to a running NATS server (its `full` resolver) with
 * the system account: `$SYS.REQ.CLAIMS.UPDATE`. This is how a new tenant's
 * account appears and how a revocation reaches the server without a
 * restart; the server then closes the revoked users' connections itself.
 */
import { createUser } from "@nats-io/nkeys";
import { encodeUser, fmtCreds } from "@nats-io/jwt";
import type { NatsConnection } from "@nats-io/nats-core";
import { UnavailableError } from "../errors.js";
import type { Authority } from "./authority.js";

/** A system-account credential (for `$SYS.REQ.*`): never handed to a Corral role. */
export async function systemCreds(authority: Authority): Promise<string> {
  const user = createUser();
  const jwt = await encodeUser("corral-sys", user, authority.system, { subs: -1, data: -1, payload: -1 });
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/** Sends one account JWT to the resolver; `unavailable` with the server's reason when it refuses. */
export async function pushAccountJwt(sys: NatsConnection, jwt: string): Promise<void> {
  let reply;
  try {
    reply = await sys.request("$SYS.REQ.CLAIMS.UPDATE", jwt, { timeout: 5_000 });
  } catch (err) {
    throw new UnavailableError(`could not update the account on the NATS server: ${(err as Error).message}`, { cause: err });
  }
  const body = JSON.parse(reply.string() || "{}") as { error?: { description?: string }; data?: { code?: number } };
  if (body.error) throw new UnavailableError(`the NATS server refused the account update: ${body.error.description ?? JSON.stringify(body.error)}`);
}
