/**
 * Which (from, to) state changes a write may make, derived from the machine's
 * transition data (machines/sandbox `TRANSITIONS`, the contract's table as
 * data), never copied from it.
 */
import { TRANSITIONS } from "../../machines/sandbox/index.js";
import { LIVE_STATES, SANDBOX_STATES, type SandboxState } from "../../src/schema/record.js";

const key = (from: SandboxState, to: SandboxState) => `${from}>${to}`;

function allowedPairs(): Set<string> {
  const pairs = new Set<string>();
  for (const row of TRANSITIONS) {
    const froms = row.from === "any" ? SANDBOX_STATES : row.from;
    for (const from of froms) pairs.add(key(from, row.to === "same" ? from : row.to));
  }
  // Writes that are not transitions (set_timeout, refresh, activity) keep the state.
  for (const s of SANDBOX_STATES) pairs.add(key(s, s));
  // The table's two "any live -> killed" rows (node_lost, container_exited) are
  // written outside the machine's own events, so TRANSITIONS does not list them.
  for (const s of LIVE_STATES) pairs.add(key(s, "killed"));
  return pairs;
}

const ALLOWED = allowedPairs();

/** True when a write may change a record's state from `from` to `to` (a new incarnation is checked separately). */
export function isLifecycleRow(from: SandboxState, to: SandboxState): boolean {
  return ALLOWED.has(key(from, to));
}
