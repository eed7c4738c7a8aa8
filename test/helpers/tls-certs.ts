// Certificates made at test time with the `openssl` command (nothing secret is committed):
// a self-signed pair for localhost and 127.0.0.1, and a second one for another name.
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

/** The test certificates, made once per process. */
export function certs(): Certs {
  made ??= {
    localhost: pair("localhost", "/CN=localhost", "DNS:localhost,IP:127.0.0.1"),
    other: pair("other", "/CN=other.example", "DNS:other.example"),
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
