/**
 * The slow path of the gate: everything that is not "running, token ok".
 * Applies `decide` in a loop until it forwards or rejects, within one bound
 * (`proxyWaitMs`): a miss asks the KV; a transient state waits for the next
 * revision (no polling: the route table's waiters wake on the broadcast);
 * paused + autoResume asks the node to resume (single-flight), then waits
 * for the record it wrote.
 */
import type { SandboxId } from "../../src/ids.js";
import type { StoredSandbox } from "../../src/schema/record.js";
import { CAPACITY_RETRY_AFTER_S, UNAVAILABLE_RETRY_AFTER_S, type AutoResumer, type ResumeOutcome } from "./auto-resume.js";
import { decide } from "./gate.js";
import type { RouteTable } from "./route-table.js";

/** Forward to this record's endpoint. */
export interface Admitted {
  readonly ok: true;
  readonly record: StoredSandbox;
}
/** Answer with this error. */
export interface Refused {
  readonly ok: false;
  readonly status: number;
  readonly message: string;
  readonly retryAfterS?: number;
}
export type Admission = Admitted | Refused;

/** Resumes one request may ask for (a resume that "succeeded" but left it paused, e.g. a racing pause). */
const MAX_RESUMES_PER_REQUEST = 2;

function refused(status: number, message: string, retryAfterS?: number): Refused {
  return retryAfterS === undefined ? { ok: false, status, message } : { ok: false, status, message, retryAfterS };
}

/** Maps a refused resume to the client's answer. */
function resumeRefusal(code: string, message: string): Refused | undefined {
  switch (code) {
    case "capacity_exhausted":
      return refused(503, `sandbox cannot be resumed now: ${message}`, CAPACITY_RETRY_AFTER_S);
    case "unavailable":
      return refused(503, "sandbox cannot be resumed now: its node is unavailable", UNAVAILABLE_RETRY_AFTER_S);
    case "gone":
      return refused(410, "sandbox was killed");
    case "not_found":
      return refused(404, "sandbox not found");
    default:
      // conflict and the like: the state moved under us; re-decide from the KV.
      return undefined;
  }
}

/**
 * Decides a request for `id` that the fast path did not forward.
 *
 * @throws when the KV cannot be read (the caller answers 503)
 */
/**
 * Resolves with the first record newer than `revision` that is `running` (the
 * broadcast of a resume that worked), or undefined as soon as a newer one is
 * neither `running` nor `resuming`, on timeout, or when `signal` aborts.
 */
async function runningBroadcast(table: RouteTable, id: SandboxId, revision: number, timeoutMs: number, signal: AbortSignal): Promise<StoredSandbox | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let seen = revision; ; ) {
    const next = await table.waitForRevisionAbove(id, seen, deadline - Date.now(), signal);
    if (next === undefined || next.revision <= seen) return undefined; // timed out or aborted
    if (next.state === "running") return next;
    if (next.state !== "resuming") return undefined;
    seen = next.revision;
  }
}

/**
 * Asks the owner to resume `current` and resolves with whichever says so
 * first: the node's reply, or the broadcast of the `running` record (the node
 * publishes it right behind its reply; this replica may still read it
 * first). Refusals always come from the reply.
 */
async function resumedFirst(table: RouteTable, resumer: AutoResumer, current: StoredSandbox, timeoutMs: number): Promise<ResumeOutcome> {
  const reply = resumer.resume(current, timeoutMs);
  const stop = new AbortController();
  const broadcast = runningBroadcast(table, current.sandboxId, current.revision, timeoutMs, stop.signal).then(
    (record): ResumeOutcome | Promise<ResumeOutcome> => (record ? { ok: true, record } : reply),
  );
  try {
    return await Promise.race([reply, broadcast]);
  } finally {
    stop.abort();
  }
}

export async function admit(
  table: RouteTable,
  resumer: AutoResumer,
  id: SandboxId,
  token: string | undefined,
  waitMs: number,
  /** Called with the paused record just before each resume request is sent. */
  onResume?: (paused: StoredSandbox) => void,
): Promise<Admission> {
  const deadline = Date.now() + waitMs;
  let record = await table.lookup(id);
  let resumes = 0;
  let refreshedAtDeadline = false;
  for (;;) {
    const d = decide(record, token);
    if (d.action === "forward") return { ok: true, record: record! };
    if (d.action === "reject") return refused(d.status, d.message);
    const current = record!;
    const remainingMs = deadline - Date.now();
    if (remainingMs <= 0) {
      // One last read of the KV in case this replica missed the settling event.
      if (!refreshedAtDeadline) {
        refreshedAtDeadline = true;
        record = await table.refresh(id);
        continue;
      }
      return refused(503, `sandbox is still ${current.state}`, UNAVAILABLE_RETRY_AFTER_S);
    }
    if (d.action === "wait") {
      record = await table.waitForRevisionAbove(id, current.revision, remainingMs);
      continue;
    }
    // d.action === "resume"
    if (resumes++ >= MAX_RESUMES_PER_REQUEST) return refused(503, "sandbox did not stay resumed", UNAVAILABLE_RETRY_AFTER_S);
    onResume?.(current);
    const outcome = await resumedFirst(table, resumer, current, remainingMs);
    if (!outcome.ok) {
      const answer = resumeRefusal(outcome.code, outcome.message);
      if (answer !== undefined) return answer;
      record = await table.refresh(id);
      continue;
    }
    // The node answered with the record it stored: newer than the view unless its event came first.
    table.apply(outcome.record);
    record = table.get(id);
  }
}
