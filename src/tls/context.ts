// TLSContext: what Python's ssl.SSLContext holds (certificate, trust, versions, ALPN), over an
// SSL_CTX of the OpenSSL inside Node. One context serves any number of connections.
import fs from "node:fs";
import { rootCertificates } from "node:tls";
import { TLS_ERROR_CODES, tlsError } from "../errors.js";
import { type NativeTLSContext, binding } from "../native.js";

type Pem = string | Uint8Array;
export type TLSVersion = "TLSv1.2" | "TLSv1.3";

export interface TLSContextOptions {
  /** The certificate chain (PEM: the leaf first), or `certFile`. Servers need one. */
  cert?: Pem;
  certFile?: string;
  /** The private key (PEM), or `keyFile`; `passphrase` when it is encrypted. */
  key?: Pem;
  keyFile?: string;
  passphrase?: string;
  /**
   * Trusted certificates (PEM, one text or several), a CA file or a hashed directory. None of
   * them: Node's bundled root certificates and OpenSSL's default paths (the system store).
   */
  ca?: Pem | readonly Pem[];
  caFile?: string;
  caPath?: string;
  /**
   * Clients: verify the server's certificate and name (default true; false is for tests).
   * Servers: ask for a client certificate and refuse a connection without a valid one (default false).
   */
  verify?: boolean;
  /** Lowest protocol version (default "TLSv1.2"), highest (default: the newest OpenSSL has). */
  minVersion?: TLSVersion;
  maxVersion?: TLSVersion;
  /** OpenSSL cipher list for TLS 1.2, and cipher suites for TLS 1.3. */
  ciphers?: string;
  cipherSuites?: string;
  /** ALPN protocols, by preference ("h2", "http/1.1"). */
  alpn?: readonly string[];
  /**
   * Servers: another context (its certificate) for the name a client asks for with SNI. Either
   * names to contexts (exact names, or "*.example.org" for one label), or a function of the name
   * returning a context, or null/undefined to keep this one. A function that throws, or returns
   * something else, fails that handshake (ERR_TLS_HANDSHAKE, an unrecognized_name alert to the
   * client). The contexts are held until this one is closed.
   */
  sni?: Readonly<Record<string, TLSContext>> | ((serverName: string) => TLSContext | null | undefined);
}

const KNOWN = new Set(["cert", "certFile", "key", "keyFile", "passphrase", "ca", "caFile", "caPath", "verify",
  "minVersion", "maxVersion", "ciphers", "cipherSuites", "alpn", "sni"]);

function versionNumber(v: TLSVersion | undefined, what: string): number {
  if (v === undefined) return 0;
  const c = binding.tls.constants;
  if (v === "TLSv1.2") return c.TLS1_2_VERSION!;
  if (v === "TLSv1.3") return c.TLS1_3_VERSION!;
  throw new RangeError(`${what} must be "TLSv1.2" or "TLSv1.3", got ${String(v)}`);
}

function pemText(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("latin1");
  throw new TypeError(`${what} must be a PEM string or Buffer, got ${value === null ? "null" : typeof value}`);
}

function optionalString(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

/** A configuration step's result: null, or the reason it was refused. */
function configured(result: string | null): void {
  if (result !== null) throw tlsError(TLS_ERROR_CODES.CONFIG, "TLS context", result);
}

type SniOption = NonNullable<TLSContextOptions["sni"]>;

/** The context for a server name, from a table of names (exact, then "*." + the parent name). */
function sniTable(table: Readonly<Record<string, TLSContext>>): (name: string) => TLSContext | null {
  const names = new Map<string, TLSContext>();
  for (const [name, ctx] of Object.entries(table)) {
    if (!(ctx instanceof TLSContext)) throw new TypeError(`sni[${JSON.stringify(name)}] must be a TLSContext`);
    if (!ctx.hasCertificate) throw new TypeError(`sni[${JSON.stringify(name)}] has no certificate to serve`);
    names.set(name.toLowerCase(), ctx);
  }
  return (name) => {
    const lower = name.toLowerCase();
    const dot = lower.indexOf(".");
    return names.get(lower) ?? (dot > 0 ? names.get(`*${lower.slice(dot)}`) : undefined) ?? null;
  };
}

/** What the native SNI callback calls: a native context, null (keep the default), or false (fail). */
function sniCallback(option: SniOption): (name: string) => NativeTLSContext | null | false {
  const pick = typeof option === "function" ? option : sniTable(option);
  return (name) => {
    try {
      const ctx = pick(name);
      if (ctx === null || ctx === undefined) return null;
      return ctx instanceof TLSContext && ctx.hasCertificate ? ctx._native(false) : false;
    } catch {
      return false;  // the handshake fails; the loop goes on
    }
  };
}

/** ALPN wire format: each protocol name after its length byte. */
export function alpnWire(protocols: readonly string[]): Buffer {
  if (!Array.isArray(protocols)) throw new TypeError("alpn must be an array of strings");
  const parts: Buffer[] = [];
  for (const p of protocols) {
    if (typeof p !== "string") throw new TypeError("alpn must be an array of strings");
    const name = Buffer.from(p, "latin1");
    if (name.length < 1 || name.length > 255) throw new RangeError(`an ALPN protocol name has 1..255 bytes, got ${JSON.stringify(p)}`);
    parts.push(Buffer.from([name.length]), name);
  }
  return Buffer.concat(parts);
}

export class TLSContext {
  /** As given (undefined: the side's default, see TLSContextOptions.verify). */
  readonly verify: boolean | undefined;
  /** A certificate and key are loaded: the context can serve. */
  readonly hasCertificate: boolean;
  #native: NativeTLSContext | null;
  #trustGiven: boolean;
  #trustLoaded = false;

  constructor(options: TLSContextOptions = {}) {
    if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
    for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new TypeError(`unknown TLS option ${JSON.stringify(key)}`);
    if (options.verify !== undefined && typeof options.verify !== "boolean") throw new TypeError("verify must be a boolean");
    const passphrase = optionalString(options.passphrase, "passphrase");
    const caFile = optionalString(options.caFile, "caFile");
    const caPath = optionalString(options.caPath, "caPath");
    const min = versionNumber(options.minVersion, "minVersion");
    const max = versionNumber(options.maxVersion, "maxVersion");
    const ciphers = optionalString(options.ciphers, "ciphers");
    const suites = optionalString(options.cipherSuites, "cipherSuites");
    const alpn = options.alpn === undefined ? null : alpnWire(options.alpn);
    const sni = options.sni === undefined ? null : options.sni;
    if (sni !== null && typeof sni !== "function" && (typeof sni !== "object" || sni === null)) {
      throw new TypeError("sni must be an object of names to contexts, or a function");
    }
    const sniPick = sni === null ? null : sniCallback(sni);
    const cert = options.cert ?? (options.certFile === undefined ? undefined : fs.readFileSync(optionalString(options.certFile, "certFile")!));
    const key = options.key ?? (options.keyFile === undefined ? undefined : fs.readFileSync(optionalString(options.keyFile, "keyFile")!));
    if ((cert === undefined) !== (key === undefined)) throw new TypeError("cert and key go together: give both or neither");
    const cas = options.ca === undefined ? [] : Array.isArray(options.ca) ? options.ca : [options.ca as Pem];
    const caTexts = cas.map((c, i) => pemText(c, `ca[${i}]`));

    const native = new binding.tls.Context();
    this.#native = native;
    try {
      if (cert !== undefined) configured(native.setCertificate(pemText(cert, "cert"), pemText(key, "key"), passphrase ?? null));
      for (const text of caTexts) {
        const r = native.addCA(text);
        if (typeof r === "string") configured(r);
      }
      if (caFile !== undefined || caPath !== undefined) configured(native.loadVerifyLocations(caFile ?? null, caPath ?? null));
      if (min !== 0 || max !== 0) configured(native.setVersions(min === 0 ? binding.tls.constants.TLS1_2_VERSION! : min, max));
      if (ciphers !== undefined || suites !== undefined) configured(native.setCiphers(ciphers ?? null, suites ?? null));
      if (alpn !== null) configured(native.setALPN(alpn));
      if (sniPick !== null) native.setServerNameCallback(sniPick);
    } catch (err) {
      native.close();
      this.#native = null;
      throw err;
    }
    this.verify = options.verify;
    this.hasCertificate = cert !== undefined;
    this.#trustGiven = caTexts.length > 0 || caFile !== undefined || caPath !== undefined;
  }

  /** @internal the native context, with the system store loaded first when a client will verify against it. */
  _native(forVerifyingClient: boolean): NativeTLSContext {
    const native = this.#native;
    if (native === null) throw new Error("the TLS context is closed");
    if (forVerifyingClient && !this.#trustGiven && !this.#trustLoaded) {
      // Loaded on first use: ~140 certificates parsed for a context that may only ever serve.
      this.#trustLoaded = true;
      native.addCA(rootCertificates.join("\n"));
      native.setDefaultVerifyPaths();  // the platform's own store too, where Node's OpenSSL finds one
    }
    return native;
  }

  /** Releases the SSL_CTX; connections made from it keep working. Closing twice is harmless. */
  close(): void {
    this.#native?.close();
    this.#native = null;
  }
}
