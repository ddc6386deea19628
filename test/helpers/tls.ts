/**
 * Throwaway certificates for TLS tests, made with openssl: a CA, a server
 * certificate for 127.0.0.1/localhost, and a client certificate (mutual TLS).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface TestCerts {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });

/** Makes a CA and two certificates signed by it in a fresh temp dir (remove `dir` when done). */
export function makeTestCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "corral-tls-"));
  openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2", "-subj", "/CN=corral test CA"], dir);
  const sign = (name: string, subject: string, ext: string) => {
    fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
    openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", subject], dir);
    openssl(["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`], dir);
  };
  sign("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
  sign("client", "/CN=corral test client", "extendedKeyUsage=clientAuth\n");
  const p = (f: string) => path.join(dir, f);
  return { dir, ca: p("ca.pem"), serverCert: p("server.pem"), serverKey: p("server-key.pem"), clientCert: p("client.pem"), clientKey: p("client-key.pem") };
}
