/**
 * `corral exec ID -- CMD [ARG...]` and `corral keys create|ls|revoke`
 * (DESIGN.md, "E2B compatibility").
 */
import { CorralClient } from "../client/client.js";
import { InvalidArgumentError } from "../errors.js";
import { connectNats } from "../nats/connection.js";
import { ApiKeyStore, DEFAULT_TENANT } from "../store/api-keys.js";
import { CLIENT_OPTIONS, keyValues, parse, type Usage } from "./args.js";
import { printJson } from "./output.js";

type Run = (argv: string[]) => Promise<number>;

const EXEC_USAGE: Usage = { command: "exec", summary: "Runs CMD in a running sandbox, streaming its output; exits with its status.", args: ["ID", "--", "CMD", "[ARG...]"] };

/** `corral exec ID [--env K=V]... [--cwd DIR] [--user U] -- CMD [ARG...]`: exits with the command's status. */
export const exec: Run = async (argv) => {
  const { values, positionals } = parse(
    argv,
    {
      env: { type: "string", multiple: true, value: "K=V", help: "environment variable for the command" },
      cwd: { type: "string", value: "DIR", help: "working directory in the sandbox" },
      user: { type: "string", value: "U", help: "user to run the command as" },
      ...CLIENT_OPTIONS,
    },
    EXEC_USAGE,
  );
  const [id, cmd, ...args] = positionals;
  if (!id || !cmd) throw new InvalidArgumentError("usage: corral exec ID [--env K=V]... [--cwd DIR] [--user U] -- CMD [ARG...]");
  const env = keyValues("--env", values.env);
  const client = await CorralClient.connect(values["nats-url"] ? { natsUrl: values["nats-url"] } : {});
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  process.once("SIGINT", onSignal);
  try {
    const result = await client.exec(id, cmd, args, {
      ...(env ? { env } : {}),
      ...(values.cwd ? { cwd: values.cwd } : {}),
      ...(values.user ? { user: values.user } : {}),
      onStdout: (chunk) => process.stdout.write(chunk),
      onStderr: (chunk) => process.stderr.write(chunk),
      signal: abort.signal,
    });
    if (values.json) printJson(result);
    // Statuses above 255 (or -1: unknown) cannot be an exit status; 1 says "failed".
    return result.exitCode >= 0 && result.exitCode <= 255 ? result.exitCode : 1;
  } finally {
    process.off("SIGINT", onSignal);
    await client.close();
  }
};

async function withKeys<T>(natsUrl: string | undefined, fn: (keys: ApiKeyStore) => Promise<T>): Promise<T> {
  const nc = await connectNats({ natsUrl, name: "corral-keys" });
  try {
    return await fn(await ApiKeyStore.open(nc));
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}

const KEYS_CREATE_FLAGS = { tenant: { type: "string", value: "T", help: "tenant the key belongs to (create; default the default tenant)" }, ...CLIENT_OPTIONS } as const;
const KEYS_USAGE: Usage = { command: "keys", summary: "Manages E2B API keys: create one, list them, or revoke one by prefix.", args: ["create|ls|revoke", "[PREFIX]"] };
const KEYS_CREATE_USAGE: Usage = { command: "keys create", summary: "Creates an E2B API key and prints it (shown once)." };
const KEYS_LS_USAGE: Usage = { command: "keys ls", summary: "Lists the E2B API keys (prefix, tenant, created)." };
const KEYS_REVOKE_USAGE: Usage = { command: "keys revoke", summary: "Revokes the E2B API key with PREFIX.", args: ["PREFIX"] };

/** `corral keys create [--tenant T] [--json]` | `keys ls [--json]` | `keys revoke PREFIX`. */
export const keys: Run = async (argv) => {
  const [sub, ...rest] = argv;
  if (sub === "create") {
    const { values, positionals } = parse(rest, KEYS_CREATE_FLAGS, KEYS_CREATE_USAGE);
    if (positionals.length > 0) throw new InvalidArgumentError("usage: corral keys create [--tenant T] [--json]");
    const made = await withKeys(values["nats-url"], (k) => k.create(values.tenant ?? DEFAULT_TENANT));
    if (values.json) printJson(made);
    else process.stdout.write(`e2b key  ${made.key}\ntenant   ${made.tenant}\nprefix   ${made.prefix}   (the key is shown once)\n`);
    return 0;
  }
  if (sub === "ls") {
    const { values, positionals } = parse(rest, CLIENT_OPTIONS, KEYS_LS_USAGE);
    if (positionals.length > 0) throw new InvalidArgumentError("usage: corral keys ls [--json]");
    const list = await withKeys(values["nats-url"], (k) => k.list());
    const items = list.map(({ prefix, tenant, createdAt }) => ({ prefix, tenant, createdAt }));
    if (values.json) printJson({ items });
    else process.stdout.write(["PREFIX        TENANT            CREATED", ...items.map((i) => `${i.prefix}  ${i.tenant.padEnd(16)}  ${new Date(i.createdAt).toISOString()}`)].join("\n") + "\n");
    return 0;
  }
  if (sub === "revoke") {
    const { values, positionals } = parse(rest, CLIENT_OPTIONS, KEYS_REVOKE_USAGE);
    if (positionals.length !== 1) throw new InvalidArgumentError("usage: corral keys revoke PREFIX");
    await withKeys(values["nats-url"], (k) => k.revoke(positionals[0]!));
    if (values.json) printJson({ revoked: positionals[0] });
    else process.stdout.write(`revoked ${positionals[0]}\n`);
    return 0;
  }
  // `corral keys --help` (or no subcommand): usage of the command as a whole.
  parse(argv, KEYS_CREATE_FLAGS, KEYS_USAGE);
  throw new InvalidArgumentError("usage: corral keys create [--tenant T] [--json] | keys ls [--json] | keys revoke PREFIX");
};
