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
  // for..in avoids allocating Object.keys() on the hot path just to test emptiness.
  let empty = true;
  for (const _ in ports) {
    empty = false;
    break;
  }
  if (empty) return { host: endpoint.host, port: sandboxPort };
  const mapped = ports[String(sandboxPort)];
  if (mapped === undefined) return `sandbox port ${sandboxPort} is not exposed`;
  return { host: endpoint.host, port: mapped };
}
