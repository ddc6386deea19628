/**
 * `corral creds issue --role R [--tenant T] --out FILE` and
 * `corral creds revoke FILE|PUBKEY`: credentials of a running secured
 * cluster (docs/security.md), made from the authority in `--data-dir`
 * (default `.corral`, where `corral up` keeps it). Prints no secret: the
 * credential goes to `--out` (mode 0600), the output names its public key.
 */
import { InvalidArgumentError } from "../errors.js";
import { issueToFile, revokeUser } from "../security/manage.js";
import { parseCredsSpec } from "../security/creds.js";
import { NATS_AUTH_OPTIONS, natsAuthOf, parse, positionals, type Flags, type Usage } from "./args.js";
import { printJson } from "./output.js";

const OPTIONS = {
  "data-dir": { type: "string", default: ".corral", value: "DIR", help: "where `corral up` keeps the cluster's authority" },
  "nats-url": { type: "string", value: "URL", help: "NATS server(s), comma-separated (default $CORRAL_NATS_URL, then nats://127.0.0.1:4222)" },
  ...NATS_AUTH_OPTIONS,
  role: { type: "string", value: "admin|client|node|proxy|ui|gateway", help: "issue: the credential's role" },
  tenant: { type: "string", value: "T", help: "issue: the tenant (role client only)" },
  out: { type: "string", value: "FILE", help: "issue: file the credential is written to (mode 0600; required)" },
  json: { type: "boolean", default: false, help: "print the result as JSON" },
} as const satisfies Flags;

const USAGE: Usage = {
  command: "creds",
  summary: "Issues a credential of a running secured cluster (issue --role ROLE --out FILE) or revokes one (revoke FILE|PUBKEY).",
  args: ["issue|revoke", "[FILE|PUBKEY]"],
};
const ISSUE_USAGE: Usage = { command: "creds issue", summary: USAGE.summary };
const REVOKE_USAGE: Usage = { command: "creds revoke", summary: USAGE.summary, args: ["FILE|PUBKEY"] };

/** The `corral creds` command. */
export async function runCredsCommand(argv: string[]): Promise<number> {
  const { values, positionals: pos } = parse(argv, OPTIONS, USAGE);
  const [sub, ...rest] = pos;
  // The system credentials come from the data dir; --creds is not used to push claims.
  const conn = { natsUrl: values["nats-url"], auth: { ...natsAuthOf(values), creds: undefined } };
  if (sub === "issue") {
    positionals(ISSUE_USAGE, rest);
    const spec = parseCredsSpec(values.role, values.tenant);
    if (!values.out) throw new InvalidArgumentError("--out FILE is required (the credential is a secret and is never printed)");
    const issued = await issueToFile(values["data-dir"], spec, values.out, conn);
    if (values.json) printJson({ out: values.out, role: spec.role, tenant: spec.tenant ?? null, publicKey: issued.userPublicKey });
    else process.stdout.write(`issued ${spec.role}${spec.tenant ? ` (tenant ${spec.tenant})` : ""} credential ${issued.userPublicKey} -> ${values.out}\n`);
    return 0;
  }
  if (sub === "revoke") {
    const [target] = positionals(REVOKE_USAGE, rest);
    const revoked = await revokeUser(values["data-dir"], target!, conn);
    if (values.json) printJson(revoked);
    else process.stdout.write(`revoked ${revoked.userPublicKey}\n`);
    return 0;
  }
  throw new InvalidArgumentError("usage: corral creds issue --role ROLE [--tenant T] --out FILE | corral creds revoke FILE|PUBKEY   [--data-dir DIR] [--nats-url URL]");
}
