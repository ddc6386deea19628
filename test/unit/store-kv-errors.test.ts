// Issue 14 item 2: every store error is classified once (src/store/kv-errors.ts).
// The errors here are the classes nats.js itself throws, built the way it
// builds them (jsbaseclient_api.ts, request.ts, protocol.ts); the end-to-end
// proof against a real nats-server is test/integration/cluster-store-errors.test.ts.
import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import { JetStreamStatusError, jserrors } from "@nats-io/jetstream/internal";
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from "@nats-io/nats-core";
import { describe, expect, it } from "vitest";
import { GoneError, InternalError, RevisionConflictError, UnavailableError } from "../../src/errors.js";
import { mapStoreError } from "../../src/store/kv-errors.js";

const ctx = { op: "update corral_sandboxes/sbx", key: "sbx", expectedRevision: 7 };
const apiError = (code: number, errCode: number, description: string) => new JetStreamApiError({ code, err_code: errCode, description });
const noResponders = () => new RequestError("no responders: '$JS.API.STREAM.INFO.KV_corral_sandboxes'", { cause: new NoRespondersError("$JS.API.STREAM.INFO.KV_corral_sandboxes") });

describe("mapStoreError", () => {
  it.each<[string, () => Error]>([
    // A publish to a stream with no leader: nats.js turns no-responders into JetStreamNotEnabled.
    ["no stream leader (publish: no responders)", () => new jserrors.JetStreamNotEnabled("jetstream is not enabled", { cause: noResponders() })],
    ["jetstream not enabled for the account (10039)", () => new jserrors.JetStreamNotEnabled("jetstream not enabled for account", { cause: apiError(503, 10039, "jetstream not enabled for account") })],
    ["no responders", noResponders],
    ["request timeout", () => new TimeoutError()],
    ["request timeout wrapped in a RequestError", () => new RequestError("timeout", { cause: new TimeoutError() })],
    ["connection closed", () => new ClosedConnectionError()],
    ["connection draining", () => new DrainingConnectionError()],
    ["connection refused", () => new ConnectionError("connection refused")],
    ["no meta leader (10008)", () => apiError(503, 10008, "JetStream system temporarily unavailable")],
    ["stream offline (10118)", () => apiError(500, 10118, "stream is offline")],
    ["quorum lost: insufficient resources (10023)", () => apiError(503, 10023, "insufficient resources")],
    ["a 503 status from a consumer", () => new JetStreamStatusError("no responders", 503)],
    ["a 409 leadership change", () => new JetStreamStatusError("Leadership Change", 409)],
    ["an invalid ack", () => new JetStreamError("invalid ack response")],
  ])("%s → unavailable (retryable), never internal", (_name, make) => {
    const err = make();
    const mapped = mapStoreError(err, ctx);
    expect(mapped).toBeInstanceOf(UnavailableError);
    expect(mapped).toMatchObject({ code: "unavailable", status: 503, retryable: true });
    expect(mapped.message).toContain(ctx.op);
    expect(mapped.cause).toBe(err);
  });

  it.each([10071, 10164])("wrong last sequence (%i) → RevisionConflictError with the key and expected revision", (code) => {
    const mapped = mapStoreError(apiError(400, code, "wrong last sequence: 8"), ctx);
    expect(mapped).toBeInstanceOf(RevisionConflictError);
    expect(mapped).toMatchObject({ code: "conflict", retryable: true });
    expect(mapped.message).toContain("sbx");
    expect(mapped.message).toContain("7");
  });

  it("a bug (not a store fault) stays internal", () => {
    const mapped = mapStoreError(new Error("invalid key: a b"), ctx);
    expect(mapped).toBeInstanceOf(InternalError);
    expect(mapped.retryable).toBe(false);
  });

  it("a CorralError passes through unchanged", () => {
    const gone = new GoneError("sandbox is killed");
    expect(mapStoreError(gone, ctx)).toBe(gone);
  });
});
