/**
 * The nats-server configuration of a secured `corral up`: the operator JWT,
 * the system account and a `full` account resolver (its JWTs stored under
 * the data dir, updatable at runtime through `$SYS.REQ.CLAIMS.UPDATE`),
 * preloaded with every account of the authority. Listen address, port and
 * JetStream stay on the command line.
 */
import fs from "node:fs";
import path from "node:path";
import type { Authority } from "./authority.js";
import { securityDir, writeSecret } from "./authority.js";

const quote = (s: string) => JSON.stringify(s);

/** Writes `<data-dir>/security/nats-server.conf` (and the operator JWT) and returns its path. */
export async function writeServerConfig(authority: Authority): Promise<string> {
  const dir = securityDir(authority.dataDir);
  const operatorFile = path.join(dir, "operator.jwt");
  writeSecret(operatorFile, await authority.operatorJwt());
  const jwtDir = path.join(dir, "jwt");
  fs.mkdirSync(jwtDir, { recursive: true, mode: 0o700 });
  const preload = [...(await authority.accountJwts())].map(([pub, jwt]) => `  ${pub}: ${jwt}`).join("\n");
  const lines = [
    `operator: ${quote(operatorFile)}`,
    `system_account: ${authority.system.getPublicKey()}`,
    `resolver {\n  type: full\n  dir: ${quote(jwtDir)}\n  allow_delete: false\n  interval: "2m"\n}`,
    `resolver_preload {\n${preload}\n}`,
  ];
  const file = path.join(dir, "nats-server.conf");
  writeSecret(file, `${lines.join("\n")}\n`);
  return file;
}
