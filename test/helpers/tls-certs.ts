// Certificates made at test time with the `openssl` command (nothing secret is committed):
// self-signed pairs for localhost and 127.0.0.1 (one of them long expired) and for another name.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { tmpDir } from "./tmpdir.js";

export interface Pair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface Certs {
  /** CN=localhost, subjectAltName DNS:localhost, IP:127.0.0.1 */
  localhost: Pair;
  /** CN=other.example: a certificate for some other name. */
  other: Pair;
  /** As `localhost`, but valid only on 2020-01-01. */
  expired: Pair;
}

let made: Certs | null = null;

function pair(name: string, subject: string, san: string): Pair {
  const dir = tmpDir();
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-days", "2", "-subj", subject, "-addext", `subjectAltName=${san}`, "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  return { certFile, keyFile, cert: fs.readFileSync(certFile, "latin1"), key: fs.readFileSync(keyFile, "latin1") };
}

// `openssl req` cannot date a certificate in the past; `openssl ca -selfsign` can.
function expiredPair(): Pair {
  const dir = path.join(tmpDir(), "expired-ca");
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "index.txt"), "");
  fs.writeFileSync(path.join(dir, "serial"), "01\n");
  fs.writeFileSync(path.join(dir, "ca.cnf"), ["[ca]", "default_ca = d", "[d]", "database = index.txt", "new_certs_dir = .",
    "serial = serial", "default_md = sha256", "policy = p", "copy_extensions = copy", "[p]", "commonName = supplied", ""].join("\n"));
  const keyFile = path.join(dir, "expired.key");
  const certFile = path.join(dir, "expired.crt");
  execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", keyFile, "-out", path.join(dir, "csr.pem")], { stdio: "ignore" });
  execFileSync("openssl", ["ca", "-batch", "-config", "ca.cnf", "-selfsign", "-keyfile", keyFile, "-in", "csr.pem",
    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-out", certFile], { stdio: "ignore", cwd: dir });
  return { certFile, keyFile, cert: fs.readFileSync(certFile, "latin1"), key: fs.readFileSync(keyFile, "latin1") };
}

/** The test certificates, made once per process. */
export function certs(): Certs {
  made ??= {
    localhost: pair("localhost", "/CN=localhost", "DNS:localhost,IP:127.0.0.1"),
    other: pair("other", "/CN=other.example", "DNS:other.example"),
    expired: expiredPair(),
  };
  return made;
}

/** Why TLS tests cannot run here, or null. */
export function opensslSkipReason(): string | null {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return null;
  } catch {
    return "the openssl command is not available";
  }
}
