/**
 * The `corral` NATS micro service: `corral.v1.sandbox.<op>` endpoints in the
 * `corral-api` queue group (every node process serves them, so there is no
 * single point of failure), discoverable through `$SRV.PING/INFO/STATS.corral`.
 * Every op is also served on `corral.v1.tenant.<tenant>.sandbox.<op>`,
 * acting as that tenant (./scope.ts).
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
import { InvalidArgumentError, toCorralError } from "../errors.js";
import { MAX_REQUEST_BYTES } from "../schema/requests.js";
import { API_OPS, API_QUEUE, SERVICE_NAME, SERVICE_VERSION, subjects, type ApiOp } from "../subjects.js";
import { handleApi, type ApiDeps } from "./handlers.js";
import { scopeOfSubject } from "./scope.js";

function contentHeaders(encoding: Encoding): MsgHdrs {
  const h = natsHeaders();
  h.set("Content-Type", encoding === "msgpack" ? MSGPACK_CONTENT_TYPE : JSON_CONTENT_TYPE);
  return h;
}

async function serve(deps: ApiDeps, op: ApiOp, msg: ServiceMsg): Promise<void> {
  // Header names are case-insensitive (as in HTTP): `content-type` works too.
  const encoding = encodingOf(msg.headers?.get("Content-Type", Match.IgnoreCase));
  try {
    if (msg.data.length > MAX_REQUEST_BYTES) {
      throw new InvalidArgumentError(`body is ${msg.data.length} bytes; at most ${MAX_REQUEST_BYTES} are accepted`);
    }
    const result = await handleApi(deps, op, decodeBody(encoding, msg.data), scopeOfSubject(msg.subject));
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

/** Starts the service on `deps.nc`; `stop()` drains its endpoints. */
export async function startApiService(deps: ApiDeps, nodeId: string): Promise<Service> {
  const service = await new Svcm(deps.nc).add({
    name: SERVICE_NAME,
    version: SERVICE_VERSION,
    description: "Corral sandbox API",
    queue: API_QUEUE,
    metadata: { nodeId },
  });
  const group = service.addGroup("corral.v1.sandbox");
  for (const op of API_OPS) {
    group.addEndpoint(op, {
      handler: (err, msg) => {
        if (err) return deps.log.error({ err, op }, "api: endpoint subscription error");
        // serve() answers every request itself; this only guards against a failure to send the reply.
        serve(deps, op, msg).catch((err: unknown) => deps.log.error({ err, op }, "api: could not send a reply"));
      },
    });
  }
  // The same ops for tenants (./scope.ts): one endpoint per op on `corral.v1.tenant.*.sandbox.<op>`.
  for (const op of API_OPS) {
    service.addEndpoint(`tenant_${op}`, {
      subject: subjects.tenantApiWildcard(op),
      handler: (err, msg) => {
        if (err) return deps.log.error({ err, op }, "api: tenant endpoint subscription error");
        serve(deps, op, msg).catch((err: unknown) => deps.log.error({ err, op }, "api: could not send a reply"));
      },
    });
  }
  return service;
}
