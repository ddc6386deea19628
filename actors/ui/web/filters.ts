/**
 * The cluster view's filter: by state, node and metadata, kept in the URL's
 * hash query (`#/?state=running,paused&node=node-1&meta=user%3Dalice`) so a
 * filtered view can be reloaded and shared. Pure (unit-tested).
 */
import type { WireRecord, WireState } from "../wire.js";

/** The contract's seven states, in contract order (mirrors `WireState`). */
export const STATES: readonly WireState[] = ["starting", "running", "pausing", "paused", "resuming", "killing", "killed"];

/** One metadata condition: `key=value` (exact) or `key` (present). */
export interface MetadataTerm {
  key: string;
  value: string | null;
}

/** What the table shows. Empty `states` means every state. */
export interface SandboxFilter {
  states: WireState[];
  node: string | null;
  /** The metadata input as typed (kept so an invalid one is shown back as is). */
  metadataText: string;
}

/** The empty filter: everything. */
export const NO_FILTER: SandboxFilter = { states: [], node: null, metadataText: "" };

function isState(value: string): value is WireState {
  return (STATES as readonly string[]).includes(value);
}

/**
 * Parses the metadata input: terms separated by spaces or commas, each
 * `key=value` or a bare `key`. Returns an error message for a term without a
 * key (`=alice`).
 */
export function parseMetadataTerms(text: string): { terms: MetadataTerm[] } | { error: string } {
  const terms: MetadataTerm[] = [];
  for (const raw of text.split(/[\s,]+/).filter(Boolean)) {
    const eq = raw.indexOf("=");
    const key = eq < 0 ? raw : raw.slice(0, eq);
    if (key === "") return { error: `"${raw}": expected key=value or key` };
    terms.push({ key, value: eq < 0 ? null : raw.slice(eq + 1) });
  }
  return { terms };
}

/** True when `record` passes `filter` (an unparsable metadata filter matches nothing). */
export function matchesFilter(record: WireRecord, filter: SandboxFilter): boolean {
  if (filter.states.length > 0 && !filter.states.includes(record.state)) return false;
  if (filter.node !== null && record.nodeId !== filter.node) return false;
  const parsed = parseMetadataTerms(filter.metadataText);
  if ("error" in parsed) return false;
  return parsed.terms.every(({ key, value }) => (value === null ? Object.hasOwn(record.metadata, key) : record.metadata[key] === value));
}

/** The filter from a hash query (unknown states are ignored). */
export function filterFromQuery(query: URLSearchParams): SandboxFilter {
  const states = (query.get("state") ?? "").split(",").filter(isState);
  return { states, node: query.get("node") || null, metadataText: query.get("meta") ?? "" };
}

/** The hash query of a filter (empty parts left out). */
export function filterToQuery(filter: SandboxFilter): URLSearchParams {
  const query = new URLSearchParams();
  if (filter.states.length > 0) query.set("state", STATES.filter((st) => filter.states.includes(st)).join(","));
  if (filter.node !== null) query.set("node", filter.node);
  if (filter.metadataText.trim() !== "") query.set("meta", filter.metadataText.trim());
  return query;
}
