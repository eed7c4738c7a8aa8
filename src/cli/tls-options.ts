// The TLS options the commands share: --tls-cert/--tls-key (a server's certificate: echo-server,
// forward) and --ca/--insecure (how a client checks the server: http-get, forward --remote-tls).
// Contexts are made here, so that a file that cannot be loaded is one clear line (exit 1).
import { TLSContext, type TLSContextOptions } from "../tls.js";
import { describeError } from "./report.js";
import { CommandError, UsageError } from "./usage.js";

/** --tls-cert FILE --tls-key FILE: serve TLS with this certificate chain (PEM) and key. */
export const SERVER_TLS = {
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
} as const;

/** --ca FILE (trust these certificates instead of the system's) and --insecure (verify nothing). */
export const CLIENT_TLS = {
  ca: { type: "string" },
  insecure: { type: "boolean", default: false },
} as const;

/** The help lines of SERVER_TLS, aligned as the commands' option lists are. */
export const SERVER_TLS_HELP = `  --tls-cert FILE          serve TLS: the certificate chain (PEM, the leaf first)
  --tls-key FILE           ... and its private key (PEM); both or neither`;

/** The help lines of CLIENT_TLS. */
export function clientTlsHelp(what: string): string {
  return `  --ca FILE                trust the certificates in FILE (PEM) for ${what},
                           instead of the system's trusted certificates
  --insecure               do not verify ${what}'s certificate or name (tests only)`;
}

function load(options: TLSContextOptions, files: string): TLSContext {
  try {
    return new TLSContext(options);
  } catch (err) {
    throw new CommandError(`cannot load ${files}: ${describeError(err)}`);
  }
}

/** The server context of --tls-cert/--tls-key, or null when neither is given. */
export function serverTls(command: string, values: { "tls-cert"?: string | undefined; "tls-key"?: string | undefined }): TLSContext | null {
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if (certFile === undefined && keyFile === undefined) return null;
  if (certFile === undefined || keyFile === undefined || certFile === "" || keyFile === "") {
    throw new UsageError("--tls-cert and --tls-key go together: give both files", command);
  }
  return load({ certFile, keyFile }, `--tls-cert ${certFile} / --tls-key ${keyFile}`);
}

/**
 * The client context of --ca/--insecure when `wanted` (an https:// URL, --remote-tls), else null;
 * --ca or --insecure without it is a usage error (`needs` says what they need).
 */
export function clientTls(command: string, values: { ca?: string | undefined; insecure?: boolean | undefined }, wanted: boolean, needs: string): TLSContext | null {
  const { ca, insecure = false } = values;
  if (!wanted) {
    if (ca !== undefined || insecure) throw new UsageError(`--insecure and --ca are for ${needs}`, command);
    return null;
  }
  if (ca !== undefined && insecure) throw new UsageError("--insecure and --ca exclude each other (--insecure verifies nothing)", command);
  if (ca === "") throw new UsageError("--ca needs a file name", command);
  if (insecure) return load({ verify: false }, "a TLS context");
  return ca === undefined ? load({}, "the system's trusted certificates") : load({ caFile: ca }, `--ca ${ca}`);
}
