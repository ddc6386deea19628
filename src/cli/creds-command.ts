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
import { NATS_AUTH_OPTIONS, natsAuthOf, parse, positionals } from "./args.js";
import { printJson } from "./output.js";

const OPTIONS = {
  "data-dir": { type: "string", default: ".corral" },
  "nats-url": { type: "string" },
  ...NATS_AUTH_OPTIONS,
  role: { type: "string" },
  tenant: { type: "string" },
  out: { type: "string" },
  json: { type: "boolean", default: false },
} as const;

/** The `corral creds` command. */
export async function runCredsCommand(argv: string[]): Promise<number> {
  const { values, positionals: pos } = parse(argv, OPTIONS);
  const [sub, ...rest] = pos;
  // The system credentials come from the data dir; --creds is not used to push claims.
  const conn = { natsUrl: values["nats-url"], auth: { ...natsAuthOf(values), creds: undefined } };
  if (sub === "issue") {
    positionals("creds issue", rest, []);
    const spec = parseCredsSpec(values.role, values.tenant);
    if (!values.out) throw new InvalidArgumentError("--out FILE is required (the credential is a secret and is never printed)");
    const issued = await issueToFile(values["data-dir"], spec, values.out, conn);
    if (values.json) printJson({ out: values.out, role: spec.role, tenant: spec.tenant ?? null, publicKey: issued.userPublicKey });
    else process.stdout.write(`issued ${spec.role}${spec.tenant ? ` (tenant ${spec.tenant})` : ""} credential ${issued.userPublicKey} -> ${values.out}\n`);
    return 0;
  }
  if (sub === "revoke") {
    const [target] = positionals("creds revoke", rest, ["FILE|PUBKEY"]);
    const revoked = await revokeUser(values["data-dir"], target!, conn);
    if (values.json) printJson(revoked);
    else process.stdout.write(`revoked ${revoked.userPublicKey}\n`);
    return 0;
  }
  throw new InvalidArgumentError("usage: corral creds issue --role ROLE [--tenant T] --out FILE | corral creds revoke FILE|PUBKEY   [--data-dir DIR] [--nats-url URL]");
}
