/** Reply shapes of the API (DESIGN.md, "NATS request/reply API"). */
import type { SandboxRecord } from "../schema/record.js";

/** `create`: the record, `created`, and the traffic token once (created: true only). */
export type CreateReply = SandboxRecord & { created: boolean; trafficToken?: string };

/** `connect`: whether a paused sandbox was resumed, and the record. */
export interface ConnectReply {
  resumed: boolean;
  sandbox: SandboxRecord;
}

/** `list`: a page, newest first; `nextCursor` is null on the last page. */
export interface ListReply {
  items: SandboxRecord[];
  nextCursor: string | null;
}

/** One node in the `nodes` reply (src/api/cluster.ts). */
import type { NodeEntry } from "../api/cluster.js";
export type { NodeEntry };

/** `nodes`: every node with its state. */
export interface NodesReply {
  items: NodeEntry[];
}
