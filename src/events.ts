/**
 * Transition events (DESIGN.md, "Events"): one per record write, msgpack on
 * `corral.v1.events.sandbox.<id>`, captured by the CORRAL_EVENTS stream.
 * Consumers apply an event only if its `revision` is greater than the one
 * they hold (`isNewer`).
 */
import type { MsgHdrs, NatsConnection, Subscription } from "@nats-io/nats-core";
import { headers as natsHeaders } from "@nats-io/nats-core";
import { MSGPACK_CONTENT_TYPE, decodeMsgpack, encodeMsgpack } from "./codec.js";
import type { NodeId, SandboxId } from "./ids.js";
import { toPublicRecord, type SandboxState, type StoredSandbox } from "./schema/record.js";
import { subjects } from "./subjects.js";

/**
 * What wrote the record: a transition's trigger (`create`, `started`,
 * `start_failed`, `pause`, `paused`, `pause_failed`, `resume`, `resumed`,
 * `resume_failed`, `kill`, `killed`, `remove_failed`, `timeout`,
 * `container_exited`, `orphaned`, `node_lost`, `reconcile`), a write that is
 * not a transition (`set_timeout`, `refresh`, `activity`), where from == to,
 * or `republished`: an event the re-publisher rebuilt from the KV for a write
 * whose own event never reached the stream (its trigger is not in the KV).
 */
export type SandboxEventName = string;

/** The `event` of an event rebuilt from the KV (see src/store/event-republisher.ts). */
export const REPUBLISHED_EVENT = "republished";

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
 * The event's JetStream message id, `<sandboxId>:<revision>`: one record
 * write has one id, so the writer's publish and a re-publish of the same
 * write (src/store/event-republisher.ts) are one stream message as long as
 * they land within the stream's duplicate window.
 */
export function eventMsgId(event: Pick<SandboxEvent, "sandboxId" | "revision">): string {
  return `${event.sandboxId}:${event.revision}`;
}

/** The headers every event carries: msgpack content type and the dedupe id. */
export function eventHeaders(event: Pick<SandboxEvent, "sandboxId" | "revision">): MsgHdrs {
  const h = natsHeaders();
  h.set("Content-Type", MSGPACK_CONTENT_TYPE);
  h.set("Nats-Msg-Id", eventMsgId(event));
  return h;
}

/**
 * Publishes on the sandbox's event subject (core NATS; the stream captures
 * it, deduplicated by `eventMsgId`). A tenant's sandbox's event goes out a
 * second time on `corral.v1.tenant.<tenant>.events.sandbox.<id>`, with the
 * client-facing record (no `internal`): the subject a tenant's credential may
 * read (docs/security.md), so a tenant receives exactly its own events.
 */
export function publishEvent(nc: NatsConnection, event: SandboxEvent): void {
  nc.publish(subjects.sandboxEvents(event.sandboxId), encodeEvent(event), { headers: eventHeaders(event) });
  publishTenantEvent(nc, event);
}

/** The copy of `event` a tenant's account imports (public record), when the sandbox has a tenant. No stream keeps it. */
export function publishTenantEvent(nc: NatsConnection, event: SandboxEvent): void {
  const tenant = event.record.tenant;
  if (typeof tenant !== "string") return;
  nc.publish(subjects.tenantSandboxEvents(tenant, event.sandboxId), encodeMsgpack({ ...event, record: toPublicRecord(event.record) }), { headers: eventHeaders(event) });
}

/**
 * True when `event` shows that writes of its sandbox were missed between the
 * `held` view and it: it names a `from` state that is not the held one. A
 * KV revision is the bucket's stream sequence, shared by every key, so a
 * sandbox's revisions are not consecutive and a missed write cannot be seen
 * from the numbers; a missed transition can, from `from`. A missed write that
 * did not change the state (a `set_timeout`) is not detectable, and needs no
 * reload: the event's record supersedes it. `from: null` (a create, or a
 * re-published event whose predecessor is unknown) reveals nothing.
 */
export function revealsGap(event: Pick<SandboxEvent, "from" | "revision">, held: { revision: number; state: SandboxState } | undefined): boolean {
  return held !== undefined && event.from !== null && event.revision > held.revision && event.from !== held.state;
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
