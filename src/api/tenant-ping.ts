/**
 * The ping a tenant's client finds live API instances with (docs/security.md,
 * "How tenants are isolated"; docs/operations.md, "Retries"). A tenant
 * account cannot see `$SRV.PING.corral` itself: its reply names the node
 * (service metadata) and the other `$SRV` verbs list every endpoint. So each
 * instance also answers `corral.v1.tenant.<tenant>.ping`, outside the queue
 * group, with its instance id and nothing else; the tenant's account imports
 * its own tenant's ping as `$SRV.PING.corral`, so the ordinary client library
 * finds the instances and sends a retry to `corral.v1.sandbox.<op>.<id>`,
 * which the account maps to its tenant's per-instance subject.
 */
import type { NatsConnection } from "@nats-io/nats-core";
import type { Service } from "@nats-io/services";
import { encodeJson } from "../codec.js";
import type { Logger } from "../log.js";
import { SERVICE_NAME, SERVICE_VERSION, subjects } from "../subjects.js";

/** The reply: the shape of a `$SRV.PING` reply, without metadata. */
export interface TenantPingReply {
  type: "io.nats.micro.v1.ping_response";
  name: typeof SERVICE_NAME;
  id: string;
  version: typeof SERVICE_VERSION;
}

/**
 * Answers every tenant's ping for `service` (one instance) until the service
 * stops: an instance that has left the queue group (fenced, stopping) is not
 * offered to a tenant's retry either.
 */
export function serveTenantPing(nc: NatsConnection, service: Service, log: Logger): void {
  const reply: TenantPingReply = { type: "io.nats.micro.v1.ping_response", name: SERVICE_NAME, id: service.info().id, version: SERVICE_VERSION };
  const body = encodeJson(reply);
  const sub = nc.subscribe(subjects.allTenantPing, {
    callback: (err, msg) => {
      if (err) return log.error({ err }, "api: tenant ping subscription error");
      msg.respond(body);
    },
  });
  void service.stopped.then(() => {
    if (!sub.isClosed()) sub.unsubscribe();
  });
}
