/**
 * The proxy's gate (DESIGN.md, "Proxy" and "Exact behaviours"): a pure
 * decision from the replica's view of a sandbox. Order of checks: known?
 * (unknown -> 404; the caller asks the KV before calling with `undefined`) ->
 * token (secure sandboxes -> 403) -> state. Whether the request named a
 * sandbox at all is decided before, by `resolveTarget`.
 *
 * Decisions are shared constants, so the hot path allocates nothing here.
 * A token that matched a record's hash is remembered for that record, so a
 * repeat costs a constant-time string comparison instead of a sha256.
 */
import type { StoredSandbox } from "../../src/schema/record.js";
import { trafficTokenMatches } from "../../src/traffic-token.js";

/** Forward the request to the sandbox (state `running`). */
export interface ForwardDecision {
  readonly action: "forward";
}
/** A transition is under way: wait (bounded) for the next state, then decide again. */
export interface WaitDecision {
  readonly action: "wait";
}
/** Paused with `autoResume`: ask the owning node to resume, wait, decide again. */
export interface ResumeDecision {
  readonly action: "resume";
}
/** Answer with this status and uniform JSON body. */
export interface RejectDecision {
  readonly action: "reject";
  readonly status: 403 | 404 | 409 | 410;
  readonly message: string;
}
export type GateDecision = ForwardDecision | WaitDecision | ResumeDecision | RejectDecision;

/** The gate's constant decisions (compare by identity or by `action`). */
export const DECISIONS = {
  forward: { action: "forward" } as ForwardDecision,
  wait: { action: "wait" } as WaitDecision,
  resume: { action: "resume" } as ResumeDecision,
  notFound: { action: "reject", status: 404, message: "sandbox not found" } as RejectDecision,
  forbidden: { action: "reject", status: 403, message: "missing or invalid traffic token" } as RejectDecision,
  paused: { action: "reject", status: 409, message: "sandbox is paused" } as RejectDecision,
  killing: { action: "reject", status: 410, message: "sandbox is being killed" } as RejectDecision,
  killed: { action: "reject", status: 410, message: "sandbox was killed" } as RejectDecision,
} as const;

/**
 * The last token that matched each record's hash. Keyed by the record object
 * (a new revision is a new object) and checked against the hash it was
 * verified with, so a changed hash never admits the old token.
 */
const verified = new WeakMap<StoredSandbox, { hash: string; token: string }>();

/** Equal strings, in time that depends only on the length (token lengths are not secret). */
function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function tokenMatches(record: StoredSandbox, token: string | undefined, hash: string): boolean {
  if (token === undefined) return false;
  const known = verified.get(record);
  if (known !== undefined && known.hash === hash && constantTimeEqual(known.token, token)) return true;
  if (!trafficTokenMatches(token, hash)) return false;
  verified.set(record, { hash, token });
  return true;
}

/**
 * Decides what to do with a request for `record` presenting `token`.
 *
 * @param record the replica's latest view; `undefined` only after the KV said it does not exist
 * @param token the traffic token header's value, if any
 */
export function decide(record: StoredSandbox | undefined, token: string | undefined): GateDecision {
  if (record === undefined) return DECISIONS.notFound;
  // Token before state: an unauthenticated caller learns nothing about the
  // sandbox's state (and cannot trigger an auto-resume).
  if (record.internal.secure) {
    const hash = record.internal.tokenHash;
    // A secure record without a hash admits nobody rather than everybody.
    if (hash === null || !tokenMatches(record, token, hash)) return DECISIONS.forbidden;
  }
  switch (record.state) {
    case "running":
      return DECISIONS.forward;
    case "starting":
    case "resuming":
    case "pausing":
      return DECISIONS.wait;
    case "paused":
      return record.lifecycle.autoResume ? DECISIONS.resume : DECISIONS.paused;
    case "killing":
      return DECISIONS.killing;
    case "killed":
      return DECISIONS.killed;
  }
}
