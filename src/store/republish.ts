/**
 * What the event re-publisher (./event-republisher.ts) and a node adopting
 * a record (`SandboxStore.publishIfMissing`) share: the revision of a
 * sandbox's last event in `CORRAL_EVENTS`, and the event a KV value stands
 * for when its own event may never have been sent.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KvEntry } from "@nats-io/kv";
import { REPUBLISHED_EVENT, decodeEvent, type SandboxEvent } from "../events.js";
import type { SandboxId } from "../ids.js";
import type { SandboxState, StoredSandbox } from "../schema/record.js";
import { EVENTS_STREAM, subjects } from "../subjects.js";

/** Revision of the sandbox's last event in the stream (one direct get by subject), 0 when it has none. */
export async function lastEventRevision(jsm: JetStreamManager, id: SandboxId): Promise<number> {
  const sm = await jsm.streams.getMessage(EVENTS_STREAM, { last_by_subj: subjects.sandboxEvents(id) });
  if (sm === null) return 0;
  try {
    return decodeEvent(sm.data).revision;
  } catch {
    return 0;
  }
}

/**
 * The event of the KV value `entry` (decoded as `record`): the record,
 * revision and `nodeId` exactly as written, `at` the KV write's time,
 * `event` `republished` (a write's trigger is not in the KV), `from` the
 * previous value's state when known.
 */
export function republishedEvent(entry: Pick<KvEntry, "revision" | "created">, record: StoredSandbox, from: SandboxState | null): SandboxEvent {
  return { sandboxId: record.sandboxId, from, to: record.state, event: REPUBLISHED_EVENT, revision: entry.revision, at: entry.created.getTime(), nodeId: record.nodeId, record };
}
