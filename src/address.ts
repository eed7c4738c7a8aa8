// Addresses: the only place that checks an Address's shape and turns host names into numbers.
// The addon takes numeric hosts only; names are resolved here, without blocking (node:dns).
import dns from "node:dns";
import net from "node:net";
import { AF_INET, AF_INET6, AF_UNIX } from "./constants.js";
import { type ErrorLocation, numericHostError } from "./errors.js";
import type { NativeAddress, RawAddress } from "./native.js";

/** `[host, port]` (AF_INET), `[host, port, flowinfo?, scopeId?]` (AF_INET6), or a path (AF_UNIX). */
export type Address = readonly [host: string, port: number, ...rest: number[]] | string;

const ANY: Record<number, string> = { [AF_INET]: "0.0.0.0", [AF_INET6]: "::" };
const LOOPBACK: Record<number, string> = { [AF_INET]: "127.0.0.1", [AF_INET6]: "::1" };

function familyName(family: number): string {
  return family === AF_INET ? "AF_INET" : family === AF_INET6 ? "AF_INET6" : family === AF_UNIX ? "AF_UNIX" : String(family);
}

function checkPort(port: unknown): number {
  if (typeof port !== "number") throw new TypeError(`port must be a number, got ${typeof port}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
  return port;
}

function checkUint(value: unknown, what: string, max: number): number {
  if (value === undefined) return 0;
  if (typeof value !== "number") throw new TypeError(`${what} must be a number`);
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${what} must be an integer in 0..${max}`);
  return value;
}

/** The parts of an inet address after its shape is checked: host still possibly a name. */
interface InetParts { host: string; port: number; flowinfo: number; scopeId: number }

function inetParts(family: number, address: unknown): InetParts {
  if (!Array.isArray(address)) {
    throw new TypeError(`${familyName(family)} address must be a [host, port] array, got ${typeof address === "string" ? "a string" : typeof address}`);
  }
  const [host, port, flowinfo, scopeId] = address as unknown[];
  if (typeof host !== "string") throw new TypeError(`host must be a string, got ${typeof host}`);
  if (address.length < 2) throw new TypeError(`${familyName(family)} address must be a [host, port] array`);
  if (family === AF_INET && address.length > 2) throw new TypeError("AF_INET address must be [host, port]");
  if (address.length > 4) throw new TypeError("AF_INET6 address must be [host, port, flowinfo?, scopeId?]");
  return { host, port: checkPort(port), flowinfo: checkUint(flowinfo, "flowinfo", 0xfffff), scopeId: checkUint(scopeId, "scopeId", 0xffffffff) };
}

/** A numeric host for `host` without any lookup, or null when it is a name that needs resolving. */
function literalHost(family: number, host: string, forBind: boolean): string | null {
  if (host === "") return forBind ? ANY[family]! : LOOPBACK[family]!;
  if (host === "localhost") return LOOPBACK[family]!;
  if (host === "<broadcast>" && family === AF_INET) return "255.255.255.255";
  const kind = net.isIP(host);
  if (kind === 4 && family === AF_INET) return host;
  if (kind === 6 && family === AF_INET6) return host;
  if (kind !== 0) throw new TypeError(`${host} is not an ${familyName(family)} address`);
  return null;
}

function unixAddress(address: unknown): NativeAddress {
  if (typeof address !== "string") throw new TypeError(`AF_UNIX address must be a path string, got ${Array.isArray(address) ? "an array" : typeof address}`);
  return [AF_UNIX, address, 0, 0, 0];
}

function checkFamily(family: number): void {
  if (family !== AF_INET && family !== AF_INET6 && family !== AF_UNIX) {
    throw new RangeError(`address family ${family} is not supported (AF_INET, AF_INET6, AF_UNIX)`);
  }
}

/**
 * The native form of `address` when no lookup is needed ("" , "localhost", numeric hosts,
 * AF_UNIX paths); null when the host is a name. Throws TypeError/RangeError on a bad shape.
 */
export function toNativeAddress(family: number, address: unknown, forBind = false): NativeAddress | null {
  checkFamily(family);
  if (family === AF_UNIX) return unixAddress(address);
  const p = inetParts(family, address);
  const host = literalHost(family, p.host, forBind);
  return host === null ? null : [family, host, p.port, p.flowinfo, p.scopeId];
}

/** As toNativeAddress, but a host name is an error (for calls that cannot wait for a lookup). */
export function toNativeAddressSync(family: number, address: unknown, forBind = false): NativeAddress {
  const native = toNativeAddress(family, address, forBind);
  if (native === null) throw numericHostError((address as readonly unknown[])[0] as string);
  return native;
}

/** Where a call on `native` was going, for its error: the numeric host and port, or the path. */
export function errorLocation(native: NativeAddress): ErrorLocation {
  return native[0] === AF_UNIX ? { address: native[1] } : { address: native[1], port: native[2] };
}

/** A listener's own address for its accept() errors; undefined when it has none it can tell. */
export function localLocation(sock: { getsockname(): Address }): ErrorLocation | undefined {
  let local: Address;
  try {
    local = sock.getsockname();
  } catch {
    return undefined;
  }
  if (typeof local === "string") return local === "" ? undefined : { address: local };
  return { address: local[0], port: local[1] };
}

/** Resolves the host name in `address` (node:dns, off the loop's thread) to its native form. */
export async function resolveAddress(family: number, address: unknown): Promise<NativeAddress> {
  const native = toNativeAddress(family, address);
  if (native !== null) return native;
  const p = inetParts(family, address);
  const found = await dns.promises.lookup(p.host, { family: family === AF_INET6 ? 6 : 4 });
  return [family, found.address, p.port, p.flowinfo, p.scopeId];
}

/** An address from the addon in the contract's form. */
export function fromRawAddress(raw: RawAddress): Address {
  if (raw === null) return "";
  return raw;
}
