/**
 * The `corral` NATS micro service: `corral.v1.sandbox.<op>` endpoints (and
 * the cluster ops `corral.v1.cluster.<op>`, ./cluster.ts) in the
 * `corral-api` queue group (every node process serves them, so there is no
 * single point of failure), discoverable through `$SRV.PING/INFO/STATS.corral`.
 * Every op is also served on `corral.v1.tenant.<tenant>.sandbox.<op>`,
 * acting as that tenant (./scope.ts), and each instance answers the tenants'
 * ping (./tenant-ping.ts).
 *
 * Encoding: JSON unless the request's `Content-Type` is msgpack; replies and
 * errors use the request's encoding. Errors carry `Nats-Service-Error-Code`
 * and `Nats-Service-Error` headers and the body `{error: {code, message}}`.
 * A handler never throws out of here: a bug becomes `internal` with an id
 * that names its log line.
 */
import { Match, headers as natsHeaders, type MsgHdrs } from "@nats-io/nats-core";
import { Svcm, type Service, type ServiceMsg } from "@nats-io/services";
import { randomUUID } from "node:crypto";
import { MSGPACK_CONTENT_TYPE, JSON_CONTENT_TYPE, decodeBody, encodeAs, encodingOf, type Encoding } from "../codec.js";
import { isExpired, readDeadline, withDeadline } from "../deadline-header.js";
import { InvalidArgumentError, toCorralError } from "../errors.js";
import { MAX_REQUEST_BYTES } from "../schema/requests.js";
import { API_OPS, API_QUEUE, CLUSTER_OPS, SERVICE_NAME, SERVICE_VERSION, subjects, type ApiOp, type ClusterOp } from "../subjects.js";
import { handleCluster } from "./cluster.js";
import { handleApi, type ApiDeps } from "./handlers.js";
import { scopeOfSubject } from "./scope.js";
import { serveTenantPing } from "./tenant-ping.js";

function contentHeaders(encoding: Encoding): MsgHdrs {
  const h = natsHeaders();
  h.set("Content-Type", encoding === "msgpack" ? MSGPACK_CONTENT_TYPE : JSON_CONTENT_TYPE);
  return h;
}

type Handle = (body: unknown) => Promise<unknown>;

async function serve(deps: ApiDeps, op: ApiOp | ClusterOp, msg: ServiceMsg, handle: Handle): Promise<void> {
  const deadline = readDeadline(msg.headers);
  if (isExpired(deadline)) {
    // The caller has given up (this process was stalled, or the request sat
    // in a queue): acting now would make a ghost sandbox or move a deadline
    // nobody is waiting for. No reply: nobody reads it.
    deps.log.warn({ op, deadline, lateMs: Date.now() - deadline! }, "api: request past its deadline dropped");
    return;
  }
  await withDeadline(deadline, () => answer(deps, op, msg, handle));
}

async function answer(deps: ApiDeps, op: ApiOp | ClusterOp, msg: ServiceMsg, handle: Handle): Promise<void> {
  // Header names are case-insensitive (as in HTTP): `content-type` works too.
  const encoding = encodingOf(msg.headers?.get("Content-Type", Match.IgnoreCase));
  try {
    if (msg.data.length > MAX_REQUEST_BYTES) {
      throw new InvalidArgumentError(`body is ${msg.data.length} bytes; at most ${MAX_REQUEST_BYTES} are accepted`);
    }
    const result = await handle(decodeBody(encoding, msg.data));
    msg.respond(encodeAs(encoding, result), { headers: contentHeaders(encoding) });
  } catch (raw) {
    const errorId = randomUUID();
    const err = toCorralError(raw, errorId);
    if (err.code === "internal") deps.log.error({ errorId, op, err: raw }, "api: internal error");
    else deps.log.debug({ op, code: err.code, message: err.message }, "api: error reply");
    msg.respondError(err.status, err.message, encodeAs(encoding, err.toJSON()), { headers: contentHeaders(encoding) });
  }
  // The events of writes this process acknowledged for the request go out right behind its reply.
  deps.store.flushEventsAfterReply();
}

/**
 * Starts the service on `deps.nc`; `stop()` drains its endpoints. Every
 * endpoint is served twice: on its queue subject (the `corral-api` group,
 * where any instance may take it) and on `<subject>.<instanceId>` (this
 * instance only), which is where the client sends a retry (src/client/routing.ts).
 */
export async function startApiService(deps: ApiDeps, nodeId: string): Promise<Service> {
  const service = await new Svcm(deps.nc).add({
    name: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: "Corral sandbox API",
    queue: API_QUEUE,
    metadata: { nodeId },
  });
  const instanceId = service.info().id;
  const endpoint = (name: string, subject: string, op: ApiOp | ClusterOp, handle: (msg: ServiceMsg) => Handle) => {
    const handler = (err: Error | null, msg: ServiceMsg) => {
      if (err) return deps.log.error({ err, op, subject }, "api: endpoint subscription error");
      // serve() answers every request itself; this only guards against a failure to send the reply.
      serve(deps, op, msg, handle(msg)).catch((err: unknown) => deps.log.error({ err, op }, "api: could not send a reply"));
    };
    service.addEndpoint(name, { subject, handler });
    service.addEndpoint(`${name}_direct`, { subject: subjects.direct(subject, instanceId), handler });
  };
  for (const op of API_OPS) {
    endpoint(op, subjects.api(op), op, (msg) => (body) => handleApi(deps, op, body, scopeOfSubject(msg.subject)));
  }
  for (const op of CLUSTER_OPS) {
    endpoint(op, subjects.cluster(op), op, () => (body) => handleCluster(deps, op, body));
  }
  // The same ops for tenants (./scope.ts): one endpoint per op on `corral.v1.tenant.*.sandbox.<op>`.
  for (const op of API_OPS) {
    endpoint(`tenant_${op}`, subjects.tenantApiWildcard(op), op, (msg) => (body) => handleApi(deps, op, body, scopeOfSubject(msg.subject)));
  }
  // A tenant's `$SRV.PING.corral` (its account imports this instead of the real one, ./tenant-ping.ts).
  serveTenantPing(deps.nc, service, deps.log);
  return service;
}
