/**
 * Transition events (DESIGN.md, "Events"): one per record write, msgpack on
 * `corral.v1.events.sandbox.<id>`, captured by the CORRAL_EVENTS stream.
 * Consumers apply an event only if its `revision` is greater than the one
 * they hold (`isNewer`).
 */
import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { MSGPACK_CONTENT_TYPE, decodeMsgpack, encodeMsgpack } from "./codec.js";
import type { NodeId, SandboxId } from "./ids.js";
import { toPublicRecord, type SandboxState, type StoredSandbox } from "./schema/record.js";
import { subjects } from "./subjects.js";

/**
 * What wrote the record: a transition's trigger (`create`, `started`,
 * `start_failed`, `pause`, `paused`, `pause_failed`, `resume`, `resumed`,
 * `resume_failed`, `kill`, `killed`, `remove_failed`, `timeout`,
 * `container_exited`, `orphaned`, `node_lost`, `reconcile`) or a write that is
 * not a transition (`set_timeout`, `refresh`, `activity`), where from == to.
 */
export type SandboxEventName = string;

export interface SandboxEvent {
  sandboxId: SandboxId;
  from: SandboxState | null;
  to: SandboxState;
  event: SandboxEventName;
  /** The record's KV revision after this write. */
  revision: number;
  /** ms since epoch of the write. */
  at: number;
  nodeId: NodeId;
  /** The record as written, `internal` included (proxies route from it). */
  record: StoredSandbox;
}

export function encodeEvent(event: SandboxEvent): Uint8Array {
  return encodeMsgpack(event);
}

export function decodeEvent(bytes: Uint8Array): SandboxEvent {
  return decodeMsgpack<SandboxEvent>(bytes);
}

/**
 * Publishes on the sandbox's event subject (core NATS; the stream captures
 * it). A tenant's sandbox's event goes out a second time on
 * `corral.v1.tenant.<tenant>.events.sandbox.<id>`, with the client-facing
 * record (no `internal`): the subject a tenant's credential may read
 * (docs/security.md), so a tenant receives exactly its own events.
 */
export function publishEvent(nc: NatsConnection, event: SandboxEvent): void {
  const h = natsHeaders();
  h.set("Content-Type", MSGPACK_CONTENT_TYPE);
  nc.publish(subjects.sandboxEvents(event.sandboxId), encodeEvent(event), { headers: h });
  const tenant = event.record.tenant;
  if (typeof tenant === "string") {
    nc.publish(subjects.tenantSandboxEvents(tenant, event.sandboxId), encodeMsgpack({ ...event, record: toPublicRecord(event.record) }), { headers: h });
  }
}

/** True when `event` should replace a view that holds `heldRevision`. */
export function isNewer(event: Pick<SandboxEvent, "revision">, heldRevision: number | undefined): boolean {
  return heldRevision === undefined || event.revision > heldRevision;
}

/**
 * Subscribes to every sandbox's events (no queue group: every replica gets
 * every event). Undecodable messages are passed to `onError` and skipped.
 */
export function subscribeEvents(
  nc: NatsConnection,
  onEvent: (event: SandboxEvent) => void,
  onError: (err: unknown) => void = () => {},
  subject: string = subjects.allSandboxEvents,
): Subscription {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return onError(err);
      let event: SandboxEvent;
      try {
        event = decodeEvent(msg.data);
      } catch (e) {
        return onError(e);
      }
      onEvent(event);
    },
  });
}
