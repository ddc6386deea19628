/**
 * Where a sandbox port is reached, from the LATEST record's
 * `internal.endpoint` (never cached apart from the record, so a resume that
 * moved the sandbox is followed by the next request).
 *
 * - docker driver: `ports` is empty and every sandbox port `p` is `host:p`;
 * - process driver: `ports["<p>"]` is the host port; a port missing from a
 *   non-empty map is not exposed (502 with a message naming the port only).
 */
import type { StoredSandbox } from "../../src/schema/record.js";

/** A resolved upstream address (internal: never shown to clients). */
export interface Upstream {
  readonly host: string;
  readonly port: number;
}

/** An upstream, or the client-safe reason why there is none. */
export function upstreamOf(record: StoredSandbox, sandboxPort: number): Upstream | string {
  const endpoint = record.internal.endpoint;
  if (endpoint === null) return "sandbox has no network endpoint";
  const ports = endpoint.ports;
  // A numeric key is an element lookup (no string built); the emptiness test
  // (for..in, no Object.keys() array) runs only when the port is not mapped.
  const mapped = ports[sandboxPort];
  if (mapped !== undefined) return { host: endpoint.host, port: mapped };
  for (const _ in ports) return `sandbox port ${sandboxPort} is not exposed`;
  return { host: endpoint.host, port: sandboxPort };
}
