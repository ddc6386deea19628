/** The client commands of `corral`: create, get, kill, pause, resume, connect, ls, set-timeout, refresh, watch. */
import { CorralClient } from "../client/client.js";
import { InvalidArgumentError } from "../errors.js";
import { isSandboxId } from "../ids.js";
import type { CreateRequest } from "../schema/requests.js";
import { CLIENT_OPTIONS, clientNatsAuth, keyValues, numberArg, parse, positionals, secondsToMs, type Usage } from "./args.js";
import { exec, keys } from "./exec-keys-commands.js";
import { printJson, recordDetails, recordsTable } from "./output.js";

type Run = (argv: string[]) => Promise<number>;

/** The parsed {@link CLIENT_OPTIONS} a client connection is made from. */
export type ClientValues = { "nats-url"?: string | undefined } & Parameters<typeof clientNatsAuth>[0];

/** Runs `fn` with a client on its own connection (URL list, credentials, TLS from `values`), closed afterwards. */
export async function withClient<T>(values: ClientValues, fn: (c: CorralClient) => Promise<T>): Promise<T> {
  const natsUrl = values["nats-url"];
  const client = await CorralClient.connect({ ...(natsUrl ? { natsUrl } : {}), auth: clientNatsAuth(values) });
  try {
    return await fn(client);
  } finally {
    await client.close();
  }
}

function show(json: boolean, value: unknown, human: () => string): number {
  if (json) printJson(value);
  else process.stdout.write(`${human()}\n`);
  return 0;
}

/** `--timeout SECONDS` of resume and connect. */
const RESUME_TIMEOUT = { type: "string", value: "SECONDS", help: "new timeout from now (default: the sandbox's own)" } as const;

const CREATE_USAGE: Usage = { command: "create", summary: "Creates a sandbox and returns once it is running (its traffic token is shown once)." };

const create: Run = async (argv) => {
  const { values, positionals: pos } = parse(
    argv,
    {
      template: { type: "string", value: "T", help: "template name (default base)" },
      timeout: { type: "string", value: "SECONDS", help: "time to live, or idle time with --idle (default 300)" },
      "on-timeout": { type: "string", value: "kill|pause", help: "what the deadline does (default kill)" },
      "auto-resume": { type: "boolean", help: "traffic through the proxy resumes it when paused" },
      idle: { type: "boolean", help: "traffic through the proxy moves the deadline" },
      manual: { type: "boolean", help: "no deadline: lives until killed" },
      metadata: { type: "string", multiple: true, value: "k=v", help: "a metadata pair" },
      env: { type: "string", multiple: true, value: "K=V", help: "an environment variable of its processes" },
      key: { type: "string", value: "K", help: "idempotency key: the same key names the same sandbox" },
      cpu: { type: "string", value: "N", help: "cpu cap (default 1)" },
      "memory-mb": { type: "string", value: "N", help: "memory limit in MiB (default 512)" },
      insecure: { type: "boolean", help: "the proxy lets traffic in without the token" },
      ...CLIENT_OPTIONS,
    },
    CREATE_USAGE,
  );
  positionals(CREATE_USAGE, pos);
  const request: Record<string, unknown> = {};
  if (values.template) request.template = values.template;
  const timeoutMs = secondsToMs("--timeout", values.timeout, 1);
  if (timeoutMs !== undefined) request.timeoutMs = timeoutMs;
  if (values.manual) request.expiration = "manual";
  const lifecycle: Record<string, unknown> = {};
  if (values["on-timeout"] !== undefined) lifecycle.onTimeout = values["on-timeout"];
  if (values["auto-resume"]) lifecycle.autoResume = true;
  if (values.idle) lifecycle.idle = true;
  if (Object.keys(lifecycle).length > 0) request.lifecycle = lifecycle;
  const metadata = keyValues("--metadata", values.metadata);
  if (metadata) request.metadata = metadata;
  const env = keyValues("--env", values.env);
  if (env) request.env = env;
  if (values.key) request.key = values.key;
  const resources: Record<string, unknown> = {};
  if (values.cpu !== undefined) resources.cpu = numberArg("--cpu", values.cpu);
  if (values["memory-mb"] !== undefined) resources.memoryMB = numberArg("--memory-mb", values["memory-mb"], true);
  if (Object.keys(resources).length > 0) request.resources = resources;
  if (values.insecure) request.secure = false;
  // The server validates the body (the CLI passes values through unchanged so
  // its errors are the API's).
  const reply = await withClient(values, (c) => c.create(request as CreateRequest));
  return show(values.json, reply, () => {
    const { created, trafficToken, ...record } = reply;
    const lines = [recordDetails(record), `${"created".padEnd(11)}  ${created}`];
    if (trafficToken) lines.push(`${"token".padEnd(11)}  ${trafficToken}   (shown once: send it as X-Corral-Traffic-Token)`);
    return lines.join("\n");
  });
};

const SINGLE_SUMMARY = {
  get: "Prints a sandbox's record (a killed one's tombstone too).",
  kill: "Kills a sandbox (idempotent) and prints its killed record.",
  pause: "Pauses a running sandbox and prints its paused record.",
  resume: "Resumes a paused sandbox and prints its running record.",
} as const;

/** get/kill/pause/resume: one id in, one record out. */
function single(cmd: "get" | "kill" | "pause" | "resume"): Run {
  const usage: Usage = { command: cmd, summary: SINGLE_SUMMARY[cmd], args: ["ID"] };
  return async (argv) => {
    const opts = cmd === "resume" ? ({ timeout: RESUME_TIMEOUT, ...CLIENT_OPTIONS } as const) : CLIENT_OPTIONS;
    const { values, positionals: pos } = parse(argv, opts, usage);
    const [id] = positionals(usage, pos);
    const timeoutMs = secondsToMs("--timeout", (values as { timeout?: string }).timeout, 1);
    const record = await withClient(values, (c) =>
      cmd === "resume" ? c.resume(id!, timeoutMs === undefined ? {} : { timeoutMs }) : c[cmd](id!),
    );
    return show(values.json, record, () => recordDetails(record));
  };
}

const CONNECT_USAGE: Usage = { command: "connect", summary: "Resumes a paused sandbox, or extends a running one's deadline.", args: ["ID"] };

const connect: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, { timeout: RESUME_TIMEOUT, ...CLIENT_OPTIONS }, CONNECT_USAGE);
  const [id] = positionals(CONNECT_USAGE, pos);
  const timeoutMs = secondsToMs("--timeout", values.timeout, 1);
  const reply = await withClient(values, (c) => c.connectSandbox(id!, timeoutMs === undefined ? {} : { timeoutMs }));
  return show(values.json, reply, () => `${recordDetails(reply.sandbox)}\n${"resumed".padEnd(11)}  ${reply.resumed}`);
};

const LS_USAGE: Usage = { command: "ls", summary: "Lists sandboxes, newest first (killed ones only when --state killed asks)." };

const ls: Run = async (argv) => {
  const { values, positionals: pos } = parse(
    argv,
    {
      state: { type: "string", multiple: true, value: "S", help: "only this state" },
      metadata: { type: "string", multiple: true, value: "k=v", help: "only sandboxes with this metadata pair" },
      limit: { type: "string", value: "N", help: "page size, 1..1000 (default 100)" },
      cursor: { type: "string", value: "C", help: "the next page, from the previous reply" },
      ...CLIENT_OPTIONS,
    },
    LS_USAGE,
  );
  positionals(LS_USAGE, pos);
  const query: Record<string, unknown> = {};
  if (values.state) query.state = values.state;
  const metadata = keyValues("--metadata", values.metadata);
  if (metadata) query.metadata = metadata;
  if (values.limit !== undefined) query.limit = numberArg("--limit", values.limit, true);
  if (values.cursor !== undefined) query.cursor = values.cursor;
  const page = await withClient(values, (c) => c.list(query));
  return show(values.json, page, () => {
    const text = page.items.length === 0 ? "no sandboxes" : recordsTable(page.items);
    return page.nextCursor ? `${text}\n(more: --cursor ${page.nextCursor})` : text;
  });
};

const SET_TIMEOUT_USAGE: Usage = { command: "set-timeout", summary: "Sets the deadline to SECONDS from now (may shorten it; 0 expires it now).", args: ["ID", "SECONDS"] };

const setTimeoutCmd: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, CLIENT_OPTIONS, SET_TIMEOUT_USAGE);
  const [id, seconds] = positionals(SET_TIMEOUT_USAGE, pos);
  const timeoutMs = secondsToMs("SECONDS", seconds, 0)!;
  const record = await withClient(values, (c) => c.setTimeout(id!, timeoutMs));
  return show(values.json, record, () => recordDetails(record));
};

const REFRESH_USAGE: Usage = { command: "refresh", summary: "Extends the deadline to at least SECONDS from now (default 60; never shortens).", args: ["ID", "SECONDS"], optionalArgs: 1 };

const refresh: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, CLIENT_OPTIONS, REFRESH_USAGE);
  const [id, seconds] = positionals(REFRESH_USAGE, pos);
  const durationMs = secondsToMs("SECONDS", seconds, 1);
  const record = await withClient(values, (c) => c.refresh(id!, durationMs));
  return show(values.json, record, () => recordDetails(record));
};

const WATCH_USAGE: Usage = { command: "watch", summary: "Prints every transition of one sandbox (or of all) as it happens, until Ctrl-C.", args: ["ID"], optionalArgs: 1 };

const watch: Run = async (argv) => {
  const { values, positionals: pos } = parse(
    argv,
    {
      replay: { type: "boolean", help: "first replay the last hour's events" },
      since: { type: "string", value: "SECONDS", help: "first replay the events of the last SECONDS" },
      ...CLIENT_OPTIONS,
    },
    WATCH_USAGE,
  );
  const [id] = positionals(WATCH_USAGE, pos);
  if (id !== undefined && !isSandboxId(id)) throw new InvalidArgumentError(`ID: must be 20 characters of [a-z0-9], got ${JSON.stringify(id)}`);
  const sinceMs = values.since !== undefined ? secondsToMs("--since", values.since, 0)! : values.replay ? 3_600_000 : undefined;
  return withClient(values, async (c) => {
    if (!values.json) process.stderr.write(`watching ${id ?? "every sandbox"}${sinceMs !== undefined ? ` (replaying the last ${sinceMs / 1000}s)` : ""}; Ctrl-C to stop\n`);
    const stop = new AbortController();
    process.once("SIGINT", () => stop.abort());
    process.once("SIGTERM", () => stop.abort());
    for await (const ev of c.watch({ sandboxId: id, sinceMs, signal: stop.signal })) {
      if (values.json) printJson(ev);
      else process.stdout.write(`${new Date(ev.at).toISOString()}  ${ev.sandboxId}  ${(ev.from ?? "-").padEnd(8)} -> ${ev.to.padEnd(8)}  ${ev.event.padEnd(14)}  rev ${ev.revision}\n`);
    }
    return 0;
  });
};

export const CLIENT_COMMANDS: Record<string, Run> = {
  create,
  get: single("get"),
  kill: single("kill"),
  pause: single("pause"),
  resume: single("resume"),
  connect,
  ls,
  "set-timeout": setTimeoutCmd,
  refresh,
  watch,
  exec,
  keys,
};
