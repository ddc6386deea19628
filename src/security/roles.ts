/**
 * The roles of DESIGN.md "Security" as NATS permissions: DATA, one entry per
 * role, which the credential issuer copies into each user JWT. The NATS
 * server enforces them (a publish outside `pub.allow` is dropped with a
 * permissions violation, a subscribe outside `sub.allow` is refused).
 *
 * Every role but the tenant client lives in the `CORRAL` account; a tenant's
 * client lives in its own account, which sees only its tenant's API and
 * events under the plain names (./authority.ts). What each role needs:
 *
 * - admin: everything in the CORRAL account (operators, `corral keys`).
 * - client: the API, node listing and service discovery; events; its inbox.
 *   Every API subject also has its per-instance form `<subject>.<instanceId>`
 *   (a retry sent to one live instance, src/client/routing.ts), which
 *   whoever may request the subject may request too.
 * - node: the KV buckets and streams it owns, the API endpoints (plain and
 *   tenant) and the tenants' ping, node commands (it serves them and sends them to other owners),
 *   activity batches, event publishing (plain and tenant), `$SRV`, replies.
 * - proxy: reads the sandbox KV, receives events, publishes activity, asks
 *   an owner to resume (`corral.v1.node.*.resume`).
 * - ui: reads the KVs and the events stream (history), receives events, and
 *   acts through the admin API (kill, pause, ...), like an operator would.
 * - gateway: the tenant API on behalf of any tenant, `$SRV.PING.corral` (to
 *   find live instances for a retry), and the API-key bucket.
 */
import { CLUSTER_BUCKET, CLUSTER_GROUP, EVENTS_STREAM, NODE_BUCKET, SANDBOX_BUCKET, subjects } from "../subjects.js";

export const ROLES = ["admin", "client", "node", "proxy", "ui", "gateway"] as const;
export type Role = (typeof ROLES)[number];

/** The bucket of the E2B gateway's API keys (DESIGN.md, "E2B compatibility"). */
export const API_KEY_BUCKET = "corral_api_keys";

/** A NATS permission set: subjects a user may publish to and subscribe to. */
export interface RolePermissions {
  pub: { allow?: string[]; deny?: string[] };
  sub: { allow?: string[]; deny?: string[] };
}

/**
 * "Its inbox": as a subscribe permission the issuer narrows it to the user's
 * own `_INBOX.<user>.>` (./creds.ts); as a publish permission (replies to any
 * requester) it stays as is.
 */
const INBOX = "_INBOX.>";
/** Replies to requests that came through a tenant account's service import. */
const IMPORTED_REPLIES = "_R_.>";

/** JetStream API subjects to read (and open, idempotently) the stream `stream`: never update, delete or purge it. */
function readStream(stream: string): string[] {
  return [
    `$JS.API.STREAM.INFO.${stream}`,
    // Opening a bucket creates it when absent; an existing stream with the same config answers as is.
    `$JS.API.STREAM.CREATE.${stream}`,
    `$JS.API.STREAM.MSG.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}`,
    `$JS.API.DIRECT.GET.${stream}.>`,
    `$JS.API.CONSUMER.CREATE.${stream}`,
    `$JS.API.CONSUMER.CREATE.${stream}.>`,
    `$JS.API.CONSUMER.INFO.${stream}.*`,
    `$JS.API.CONSUMER.DELETE.${stream}.*`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.*`,
    `$JS.FC.${stream}.>`,
    `$JS.ACK.${stream}.>`,
  ];
}

const kvStream = (bucket: string) => `KV_${bucket}`;
/** Writing a KV bucket: its put subjects. */
const writeKv = (bucket: string) => `$KV.${bucket}.>`;

/** Reading Corral's store: both buckets and the events stream (opening the store opens all three and waits for them), and the cluster's identity. */
const READ_STORE = [
  "$JS.API.INFO",
  ...readStream(kvStream(SANDBOX_BUCKET)),
  ...readStream(kvStream(NODE_BUCKET)),
  ...readStream(EVENTS_STREAM),
  ...readStream(kvStream(CLUSTER_BUCKET)),
];

/** Every role's permissions. `admin` has none: no restriction inside its account. */
export const ROLE_PERMISSIONS: Readonly<Record<Role, RolePermissions | null>> = {
  admin: null,
  client: {
    // `<op subject>.<instanceId>`: a retry sent to one live instance (src/client/routing.ts).
    pub: { allow: ["corral.v1.sandbox.*", subjects.allApiDirect, "corral.v1.cluster.nodes", "corral.v1.cluster.nodes.*", "$SRV.>"] },
    sub: { allow: [subjects.eventsStreamFilter, INBOX] },
  },
  node: {
    pub: {
      allow: [
        "$JS.API.>",
        "$JS.FC.>",
        "$JS.ACK.>",
        writeKv(SANDBOX_BUCKET),
        writeKv(NODE_BUCKET),
        // The cluster's identity, made once by the first node (src/store/cluster-id.ts).
        writeKv(CLUSTER_BUCKET),
        subjects.eventsStreamFilter,
        "corral.v1.tenant.*.events.>",
        "corral.v1.node.>",
        INBOX,
        IMPORTED_REPLIES,
      ],
    },
    sub: {
      allow: [
        "corral.v1.sandbox.*",
        subjects.allApiDirect,
        subjects.allTenantApi,
        subjects.allTenantApiDirect,
        subjects.allTenantPing,
        `${CLUSTER_GROUP}.*`,
        `${CLUSTER_GROUP}.*.*`,
        "corral.v1.node.>",
        "corral.v1.activity.>",
        "$SRV.>",
        INBOX,
      ],
    },
  },
  proxy: {
    pub: { allow: [...READ_STORE, "corral.v1.activity.>", "corral.v1.node.*.resume"] },
    sub: { allow: [subjects.eventsStreamFilter, INBOX] },
  },
  ui: {
    pub: { allow: [...READ_STORE, "corral.v1.sandbox.*", subjects.allApiDirect, "$SRV.>"] },
    sub: { allow: [subjects.eventsStreamFilter, INBOX] },
  },
  gateway: {
    pub: { allow: [subjects.allTenantApi, subjects.allTenantApiDirect, subjects.servicePing, "$JS.API.INFO", ...readStream(kvStream(API_KEY_BUCKET)), writeKv(API_KEY_BUCKET)] },
    sub: { allow: [INBOX] },
  },
};

/**
 * A tenant's client, in the tenant's own account: the API and events there
 * are its tenant's only (imported under the plain names), so the same
 * subjects as a `client`, minus what the account does not have. Its
 * `$SRV.PING.corral` is the tenant ping (instance ids only) and its
 * `corral.v1.sandbox.*.*` its tenant's per-instance API, both imports.
 */
export const TENANT_CLIENT_PERMISSIONS: RolePermissions = {
  pub: { allow: ["corral.v1.sandbox.*", subjects.allApiDirect, subjects.servicePing] },
  sub: { allow: [subjects.eventsStreamFilter, INBOX] },
};

/** Narrows a string to a role name. */
export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
