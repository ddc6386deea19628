/**
 * The one way every Corral process connects to NATS: the server commands
 * (`corral node`, `proxy`, `ui`, `up`), the CLI and the client library.
 *
 * - {@link parseNatsUrls}: `--nats-url` / `$CORRAL_NATS_URL` is one URL or a
 *   comma-separated list (DESIGN.md, "Cluster"); nats.js is given the list and
 *   fails over between its servers (and the ones the cluster advertises).
 * - {@link natsConnectOptions}: a pure options builder. Everything about how
 *   to reach NATS (servers, reconnect policy, credentials, TLS) is
 *   decided here, so a new connection setting is one edit.
 * - {@link connectNats}: connects once (clients: a wrong URL is an error, not
 *   a hang) or, for server processes, waits for NATS and then for JetStream
 *   with backoff and a log line per attempt instead of exiting.
 */
import { credsAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import fs from "node:fs";
import { z } from "zod";
import { defaultNatsUrl } from "../config.js";
import { InvalidArgumentError, UnavailableError } from "../errors.js";
import { logger, type Logger } from "../log.js";
import { backoffFrom, sleep, waitForJetStream, type Backoff } from "./wait.js";

/** Schemes nats.js's Node transport dials. */
const SCHEMES = ["nats:", "tls:"];

const natsUrl = z.string().transform((raw, ctx) => {
  // nats.js accepts `host:port` without a scheme; so do we.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `nats://${raw}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    ctx.addIssue({ code: "custom", message: `not a URL: ${JSON.stringify(raw)}` });
    return z.NEVER;
  }
  if (!SCHEMES.includes(url.protocol) || url.hostname === "") {
    ctx.addIssue({ code: "custom", message: `expected nats://host[:port] or tls://host[:port], got ${JSON.stringify(raw)}` });
    return z.NEVER;
  }
  return withScheme;
});

/**
 * Splits a `--nats-url` value into its servers: comma-separated, blanks
 * around commas ignored, each a `nats://` or `tls://` URL (or bare
 * `host:port`). An empty list or a malformed entry is `invalid_argument`
 * naming the value.
 */
export function parseNatsUrls(value: string, flag = "--nats-url"): string[] {
  const parts = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (parts.length === 0) throw new InvalidArgumentError(`${flag}: expected one or more NATS URLs separated by commas, got ${JSON.stringify(value)}`);
  return parts.map((p) => {
    const res = natsUrl.safeParse(p);
    if (!res.success) throw new InvalidArgumentError(`${flag}: ${res.error.issues[0]?.message ?? "invalid URL"}`);
    return res.data;
  });
}

/** The URL list for logs and messages: user and password replaced, never printed. */
export function describeServers(servers: readonly string[]): string {
  return servers.map((s) => s.replace(/\/\/[^@/]*@/, "//***@")).join(",");
}

/**
 * Who the process is to NATS and how it checks the server: a credentials
 * file (decentralised auth, docs/security.md) and TLS files. Every command
 * takes them as `--creds`, `--tls-ca`, `--tls-cert`, `--tls-key`.
 */
export interface NatsAuthSettings {
  /** `.creds` file (user JWT + seed). @default $CORRAL_NATS_CREDS */
  creds?: string | undefined;
  /** CA certificate the server's certificate must chain to. @default $CORRAL_NATS_TLS_CA */
  tlsCa?: string | undefined;
  /** Client certificate (mutual TLS), with `tlsKey`. @default $CORRAL_NATS_TLS_CERT */
  tlsCert?: string | undefined;
  /** Key of `tlsCert`. @default $CORRAL_NATS_TLS_KEY */
  tlsKey?: string | undefined;
}

/** `settings` with the environment's defaults filled in (flags win). */
export function withAuthDefaults(settings: NatsAuthSettings = {}, env: NodeJS.ProcessEnv = process.env): NatsAuthSettings {
  return {
    creds: settings.creds ?? (env.CORRAL_NATS_CREDS || undefined),
    tlsCa: settings.tlsCa ?? (env.CORRAL_NATS_TLS_CA || undefined),
    tlsCert: settings.tlsCert ?? (env.CORRAL_NATS_TLS_CERT || undefined),
    tlsKey: settings.tlsKey ?? (env.CORRAL_NATS_TLS_KEY || undefined),
  };
}

function readFileOption(flag: string, file: string): Uint8Array {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new InvalidArgumentError(`${flag}: cannot read ${file}: ${(err as Error).message}`);
  }
}

/**
 * The inbox prefix a credential allows: a Corral credential that may
 * subscribe only to `_INBOX.<user>.>` (docs/security.md) must receive its
 * replies there. Read from the JWT's claims (never the seed); null for any
 * other credential (nats.js's default `_INBOX` then).
 */
export function credsInboxPrefix(creds: Uint8Array): string | null {
  const jwt = /-----BEGIN NATS USER JWT-----\s*([A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]+)\s*------END NATS USER JWT------/.exec(new TextDecoder().decode(creds));
  if (!jwt) return null;
  let claims: { sub?: unknown; nats?: { sub?: { allow?: unknown } } };
  try {
    claims = JSON.parse(Buffer.from(jwt[2]!, "base64url").toString("utf8")) as typeof claims;
  } catch {
    return null;
  }
  const own = typeof claims.sub === "string" ? `_INBOX.${claims.sub}` : null;
  const allow = claims.nats?.sub?.allow;
  return own !== null && Array.isArray(allow) && allow.includes(`${own}.>`) ? own : null;
}

/** The nats.js authenticator, inbox prefix and TLS options of `auth` (files read now; their contents are never logged). */
function authOptions(auth: NatsAuthSettings): Pick<ConnectionOptions, "authenticator" | "tls" | "inboxPrefix"> {
  const out: Pick<ConnectionOptions, "authenticator" | "tls" | "inboxPrefix"> = {};
  if (auth.creds) {
    const creds = readFileOption("--creds", auth.creds);
    out.authenticator = credsAuthenticator(creds);
    const prefix = credsInboxPrefix(creds);
    if (prefix !== null) out.inboxPrefix = prefix;
  }
  if ((auth.tlsCert === undefined) !== (auth.tlsKey === undefined)) throw new InvalidArgumentError("--tls-cert and --tls-key go together");
  if (auth.tlsCa || auth.tlsCert) {
    for (const [flag, file] of [["--tls-ca", auth.tlsCa], ["--tls-cert", auth.tlsCert], ["--tls-key", auth.tlsKey]] as const) if (file) readFileOption(flag, file);
    out.tls = { ...(auth.tlsCa ? { caFile: auth.tlsCa } : {}), ...(auth.tlsCert ? { certFile: auth.tlsCert, keyFile: auth.tlsKey } : {}) };
  }
  return out;
}

/** What a process asks of its NATS connection. */
export interface NatsConnectSettings {
  /** Credentials and TLS; the environment fills what is absent ({@link withAuthDefaults}). */
  auth?: NatsAuthSettings;
  /** One URL or a comma-separated list. @default $CORRAL_NATS_URL, then "nats://127.0.0.1:4222" */
  natsUrl?: string;
  /** The connection name the server shows (`corral-node-<id>`, `corral-proxy`, ...). */
  name: string;
  /** Delay before reconnecting to the same server, in ms. @default 250 */
  reconnectTimeWaitMs?: number;
  /**
   * Capture a stack trace per request (nats.js's default). Busy processes turn
   * it off (it costs CPU per request); errors keep their own stacks. @default false
   */
  asyncTraces?: boolean;
}

/**
 * The nats.js options for `settings`: the parsed server list and a reconnect
 * policy of "forever" (a process must outlive the loss of any one server, and
 * of all of them for a while); the first connect tries each server once.
 */
export function natsConnectOptions(settings: NatsConnectSettings): ConnectionOptions & { servers: string[] } {
  return {
    servers: parseNatsUrls(settings.natsUrl ?? defaultNatsUrl()),
    name: settings.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: settings.reconnectTimeWaitMs ?? 250,
    noAsyncTraces: !(settings.asyncTraces ?? false),
    ...authOptions(withAuthDefaults(settings.auth)),
  };
}

/** How {@link connectNats} treats a NATS (or JetStream) that is not there yet. */
export interface ConnectBehaviour {
  /**
   * Server processes: retry until NATS answers, then until JetStream answers,
   * logging each attempt. Clients: one pass over the list, then `unavailable`.
   * @default false
   */
  wait?: boolean;
  /** Logger for the waiting lines. @default logger("nats") */
  log?: Logger;
  /** Retry delays while waiting. */
  backoff?: Backoff;
}

/** How long a client's single connect pass waits for a server's handshake (nats.js waits 20 s by default). */
const CLIENT_CONNECT_TIMEOUT_MS = 5_000;

/**
 * What a timed-out TLS connect most likely means: a server that requires
 * client certificates ends the session of a client without one, and nats.js
 * sees only silence until its timeout.
 */
function connectHint(options: ConnectionOptions & { servers: string[] }, err: unknown): string {
  const usesTls = options.tls != null || options.servers.some((s) => s.startsWith("tls://"));
  const hasCert = options.tls != null && "certFile" in options.tls;
  if (!/timeout/i.test((err as Error).message) || !usesTls || hasCert) return "";
  return " (a server that requires client certificates drops a TLS client without one: pass --tls-cert and --tls-key)";
}

/**
 * Connects with {@link natsConnectOptions}. With `wait`, a process started
 * before its NATS (or before JetStream has a meta leader) waits with backoff
 * and says so in its log, instead of exiting.
 * @throws UnavailableError (without `wait`) when no server of the list answers
 * @throws InvalidArgumentError for a malformed URL list
 */
export async function connectNats(settings: NatsConnectSettings, behaviour: ConnectBehaviour = {}): Promise<NatsConnection> {
  const options = natsConnectOptions(settings);
  const where = describeServers(options.servers);
  if (!behaviour.wait) {
    try {
      return await connect({ ...options, timeout: CLIENT_CONNECT_TIMEOUT_MS });
    } catch (err) {
      throw new UnavailableError(`cannot connect to NATS at ${where}: ${(err as Error).message}${connectHint(options, err)}`, { cause: err });
    }
  }
  const log = behaviour.log ?? logger("nats");
  const backoff = backoffFrom(behaviour.backoff);
  let nc: NatsConnection | undefined;
  for (let attempt = 1; nc === undefined; attempt++) {
    try {
      nc = await connect(options);
    } catch (err) {
      const retryInMs = backoff(attempt);
      log.warn({ servers: where, attempt, retryInMs, err: (err as Error).message }, "waiting for NATS");
      await sleep(retryInMs);
    }
  }
  await waitForJetStream(nc, log, backoff);
  return nc;
}
