/**
 * The signing authority of a secured Corral (NATS decentralised auth): an
 * operator, the system account `SYS`, the `CORRAL` account (every role but
 * tenants) and one account per tenant (`T_<tenant>`). Their seeds live in
 * one file, `<data-dir>/security/authority.json` (mode 0600), with the
 * revocations; account JWTs are derived from it whenever needed, so what
 * the server holds is always "the file, signed".
 *
 * Tenants (DESIGN.md "Security"): `CORRAL` exports the services
 * `corral.v1.tenant.*.sandbox.*`, `corral.v1.tenant.*.sandbox.*.*` (one
 * instance's) and `corral.v1.tenant.*.ping`, and the stream
 * `corral.v1.tenant.*.events.>`. Account `T_<t>` imports only
 * `corral.v1.tenant.<t>.sandbox.*` as `corral.v1.sandbox.*`, its `.*.*` form
 * as `corral.v1.sandbox.*.*`, `corral.v1.tenant.<t>.ping` as
 * `$SRV.PING.corral` and `corral.v1.tenant.<t>.events.>` as
 * `corral.v1.events.>`. Only this authority signs accounts, so the public
 * wildcard exports reach no one else; inside `T_<t>` nothing else exists,
 * so the tenant is decided by the server, from the credential's account.
 */
import { createAccount, createOperator, fromSeed, type KeyPair } from "@nats-io/nkeys";
import { encodeAccount, encodeOperator, type Account } from "@nats-io/jwt";
import fs from "node:fs";
import path from "node:path";
import { z } from "zod";
import { InvalidArgumentError } from "../errors.js";
import { TenantSchema } from "../schema/record.js";
import { subjects } from "../subjects.js";

const SeedSchema = z.string().regex(/^S[A-Z2-7]{57}$/, "not an nkey seed");

/** The authority file's contents. Seeds are secrets: never logged or printed. */
const AuthorityFileSchema = z.strictObject({
  version: z.literal(1),
  operator: SeedSchema,
  system: SeedSchema,
  corral: SeedSchema,
  /** tenant name -> its account's seed */
  tenants: z.record(TenantSchema, SeedSchema),
  /** account public key -> (user public key -> revoked-at, epoch seconds) */
  revocations: z.record(z.string(), z.record(z.string(), z.number().int().nonnegative())),
});
export type AuthorityFile = z.infer<typeof AuthorityFileSchema>;

/** Unlimited account limits (the defaults of an account JWT are zero: nothing allowed). */
const UNLIMITED = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 } as const;
const JETSTREAM = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 } as const;

/** Where the authority of a data dir lives. */
export function securityDir(dataDir: string): string {
  return path.join(dataDir, "security");
}
export function authorityPath(dataDir: string): string {
  return path.join(securityDir(dataDir), "authority.json");
}

/** Writes `content` to `file` with mode 0600 (created that way: never readable by others, even briefly). */
export function writeSecret(file: string, content: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, content, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, file);
}

/** A loaded authority: its file plus the key pairs. */
export class Authority {
  private constructor(
    readonly dataDir: string,
    private file: AuthorityFile,
  ) {}

  /** Reads the data dir's authority; null when it has none. */
  static load(dataDir: string): Authority | null {
    let raw: string;
    try {
      raw = fs.readFileSync(authorityPath(dataDir), "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw err;
    }
    const parsed = AuthorityFileSchema.safeParse(JSON.parse(raw));
    if (!parsed.success) throw new InvalidArgumentError(`${authorityPath(dataDir)}: not a Corral authority file: ${parsed.error.issues[0]?.message ?? ""}`);
    return new Authority(dataDir, parsed.data);
  }

  /** The data dir's authority, created (new operator and accounts) when absent. */
  static loadOrCreate(dataDir: string): Authority {
    const found = Authority.load(dataDir);
    if (found) return found;
    const seed = (kp: KeyPair) => new TextDecoder().decode(kp.getSeed());
    const authority = new Authority(dataDir, {
      version: 1,
      operator: seed(createOperator()),
      system: seed(createAccount()),
      corral: seed(createAccount()),
      tenants: {},
      revocations: {},
    });
    authority.save();
    return authority;
  }

  /** The authority of `dataDir`, or an `invalid_argument` telling how to get one. */
  static require(dataDir: string): Authority {
    const found = Authority.load(dataDir);
    if (!found) throw new InvalidArgumentError(`no Corral authority in ${securityDir(dataDir)}: run \`corral up\` (secured) with --data-dir ${dataDir} first`);
    return found;
  }

  private save(): void {
    writeSecret(authorityPath(this.dataDir), `${JSON.stringify(this.file, null, 2)}\n`);
  }

  private kp(seed: string): KeyPair {
    return fromSeed(new TextEncoder().encode(seed));
  }

  get operator(): KeyPair {
    return this.kp(this.file.operator);
  }
  get system(): KeyPair {
    return this.kp(this.file.system);
  }
  get corral(): KeyPair {
    return this.kp(this.file.corral);
  }

  /** The tenant names with an account. */
  tenants(): string[] {
    return Object.keys(this.file.tenants).sort();
  }

  /** The account key pair of `tenant`; with `create`, made (and saved) when absent. Returns [pair, created]. */
  tenantAccount(tenant: string, create: boolean): [KeyPair, boolean] | null {
    const seed = this.file.tenants[tenant];
    if (seed) return [this.kp(seed), false];
    if (!create) return null;
    const kp = createAccount();
    this.file.tenants[tenant] = new TextDecoder().decode(kp.getSeed());
    this.save();
    return [kp, true];
  }

  /** The account key pair whose public key is `accountPub`, or null. */
  accountByPublicKey(accountPub: string): { kp: KeyPair; tenant: string | null } | null {
    if (this.corral.getPublicKey() === accountPub) return { kp: this.corral, tenant: null };
    for (const tenant of this.tenants()) {
      const kp = this.kp(this.file.tenants[tenant]!);
      if (kp.getPublicKey() === accountPub) return { kp, tenant };
    }
    return null;
  }

  /** Records that `userPub` of account `accountPub` is revoked (every JWT issued up to now). */
  revoke(accountPub: string, userPub: string): void {
    const list = (this.file.revocations[accountPub] ??= {});
    // JWTs issued at or before this second are revoked; +1 covers one issued within the current second.
    list[userPub] = Math.floor(Date.now() / 1000) + 1;
    this.save();
  }

  operatorJwt(): Promise<string> {
    return encodeOperator("corral", this.operator, { system_account: this.system.getPublicKey() });
  }

  systemAccountJwt(): Promise<string> {
    return this.signAccount("SYS", this.system, { limits: UNLIMITED });
  }

  corralAccountJwt(): Promise<string> {
    return this.signAccount("CORRAL", this.corral, {
      limits: { ...UNLIMITED, ...JETSTREAM },
      exports: [
        { name: "tenant-api", subject: subjects.allTenantApi, type: "service" },
        // A retry sent to one live instance (`<subject>.<instanceId>`, src/client/routing.ts).
        { name: "tenant-api-direct", subject: subjects.allTenantApiDirect, type: "service" },
        // Every live instance answers: more than one reply per request (src/api/tenant-ping.ts).
        { name: "tenant-ping", subject: subjects.allTenantPing, type: "service", response_type: "Stream" },
        { name: "tenant-events", subject: "corral.v1.tenant.*.events.>", type: "stream" },
      ],
    });
  }

  /** The account JWT of `tenant` (which must have an account). */
  tenantAccountJwt(tenant: string): Promise<string> {
    const found = this.tenantAccount(tenant, false);
    if (!found) throw new InvalidArgumentError(`no account for tenant ${tenant}`);
    const corral = this.corral.getPublicKey();
    return this.signAccount(`T_${tenant}`, found[0], {
      limits: UNLIMITED,
      imports: [
        { name: "api", type: "service", account: corral, subject: `corral.v1.tenant.${tenant}.sandbox.*`, local_subject: "corral.v1.sandbox.*" },
        { name: "api-direct", type: "service", account: corral, subject: `corral.v1.tenant.${tenant}.sandbox.*.*`, local_subject: subjects.allApiDirect },
        { name: "ping", type: "service", account: corral, subject: subjects.tenantPing(tenant), local_subject: subjects.servicePing },
        { name: "events", type: "stream", account: corral, subject: `corral.v1.tenant.${tenant}.events.>`, local_subject: subjects.eventsStreamFilter },
      ],
    });
  }

  /** Every account JWT (public key -> JWT): what the resolver is preloaded with. */
  async accountJwts(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    out.set(this.system.getPublicKey(), await this.systemAccountJwt());
    out.set(this.corral.getPublicKey(), await this.corralAccountJwt());
    for (const tenant of this.tenants()) out.set(this.tenantAccount(tenant, false)![0].getPublicKey(), await this.tenantAccountJwt(tenant));
    return out;
  }

  private signAccount(name: string, kp: KeyPair, claims: Partial<Account>): Promise<string> {
    const revocations = this.file.revocations[kp.getPublicKey()];
    return encodeAccount(name, kp, { ...claims, ...(revocations && Object.keys(revocations).length > 0 ? { revocations } : {}) }, { signer: this.operator });
  }
}
