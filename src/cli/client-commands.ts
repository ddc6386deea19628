/** The client commands of `corral`: create, get, kill, pause, resume, connect, ls, set-timeout, refresh, watch. */
import { CorralClient } from "../client/client.js";
import { InvalidArgumentError } from "../errors.js";
import { isSandboxId } from "../ids.js";
import type { CreateRequest } from "../schema/requests.js";
import { CLIENT_OPTIONS, clientNatsAuth, keyValues, numberArg, parse, positionals, secondsToMs } from "./args.js";
import { exec, keys } from "./exec-keys-commands.js";
import { printJson, recordDetails, recordsTable } from "./output.js";

type Run = (argv: string[]) => Promise<number>;

/** The parsed {@link CLIENT_OPTIONS} a client connection is made from. */
type ClientValues = { "nats-url"?: string | undefined } & Parameters<typeof clientNatsAuth>[0];

async function withClient<T>(values: ClientValues, fn: (c: CorralClient) => Promise<T>): Promise<T> {
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

const create: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, {
    ...CLIENT_OPTIONS,
    template: { type: "string" },
    timeout: { type: "string" },
    "on-timeout": { type: "string" },
    "auto-resume": { type: "boolean" },
    idle: { type: "boolean" },
    manual: { type: "boolean" },
    metadata: { type: "string", multiple: true },
    env: { type: "string", multiple: true },
    key: { type: "string" },
    cpu: { type: "string" },
    "memory-mb": { type: "string" },
    insecure: { type: "boolean" },
  });
  positionals("create", pos, []);
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

/** get/kill/pause/resume: one id in, one record out. */
function single(cmd: "get" | "kill" | "pause" | "resume"): Run {
  return async (argv) => {
    const opts = cmd === "resume" ? { ...CLIENT_OPTIONS, timeout: { type: "string" } } as const : CLIENT_OPTIONS;
    const { values, positionals: pos } = parse(argv, opts);
    const [id] = positionals(cmd, pos, ["ID"]);
    const timeoutMs = secondsToMs("--timeout", (values as { timeout?: string }).timeout, 1);
    const record = await withClient(values, (c) =>
      cmd === "resume" ? c.resume(id!, timeoutMs === undefined ? {} : { timeoutMs }) : c[cmd](id!),
    );
    return show(values.json, record, () => recordDetails(record));
  };
}

const connect: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, { ...CLIENT_OPTIONS, timeout: { type: "string" } });
  const [id] = positionals("connect", pos, ["ID"]);
  const timeoutMs = secondsToMs("--timeout", values.timeout, 1);
  const reply = await withClient(values, (c) => c.connectSandbox(id!, timeoutMs === undefined ? {} : { timeoutMs }));
  return show(values.json, reply, () => `${recordDetails(reply.sandbox)}\n${"resumed".padEnd(11)}  ${reply.resumed}`);
};

const ls: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, {
    ...CLIENT_OPTIONS,
    state: { type: "string", multiple: true },
    metadata: { type: "string", multiple: true },
    limit: { type: "string" },
    cursor: { type: "string" },
  });
  positionals("ls", pos, []);
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

const setTimeoutCmd: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, CLIENT_OPTIONS);
  const [id, seconds] = positionals("set-timeout", pos, ["ID", "SECONDS"]);
  const timeoutMs = secondsToMs("SECONDS", seconds, 0)!;
  const record = await withClient(values, (c) => c.setTimeout(id!, timeoutMs));
  return show(values.json, record, () => recordDetails(record));
};

const refresh: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, CLIENT_OPTIONS);
  const [id, seconds] = positionals("refresh", pos, ["ID", "SECONDS"], 1);
  const durationMs = secondsToMs("SECONDS", seconds, 1);
  const record = await withClient(values, (c) => c.refresh(id!, durationMs));
  return show(values.json, record, () => recordDetails(record));
};

const watch: Run = async (argv) => {
  const { values, positionals: pos } = parse(argv, { ...CLIENT_OPTIONS, replay: { type: "boolean" }, since: { type: "string" } });
  const [id] = positionals("watch", pos, ["ID"], 1);
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
