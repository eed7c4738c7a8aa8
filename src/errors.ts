// Called by every core module that fails a system call or sorts an errno (would block, disconnect,
// skipped accept...): the one place that knows errno names, and builds errors in Node's shape.
//
// Every error the library raises for a failed system call is built here: `code` ("EADDRINUSE"),
// `errno` (negative, as Node's own), `syscall`.
import os from "node:os";
import util from "node:util";
import { binding } from "./native.js";

/** Node's system-error shape. */
export interface SystemError extends Error {
  /** The errno's name: "ECONNREFUSED". */
  code: string;
  /** Negative, as Node's own: -111. */
  errno: number;
  /** The call that failed: "connect". */
  syscall: string;
  /** The address the call was about (bind, connect, sendto, accept: the listener's): a numeric host or a path. */
  address?: string;
  /** Its port (inet addresses only). */
  port?: number;
}

/** Where a failed call was going: the `address` (numeric host or path) and `port` of its error. */
export interface ErrorLocation {
  address: string;
  port?: number;
}

/** True for an Error in Node's system-error shape (ours, or Node's own): `code`, `errno`, `syscall`. */
export function isSystemError(err: unknown): err is SystemError {
  if (!(err instanceof Error)) return false;
  const e = err as Partial<Record<"code" | "errno" | "syscall", unknown>>;
  return typeof e.code === "string" && typeof e.errno === "number" && typeof e.syscall === "string";
}

const E = os.constants.errno;
// libuv's [name, text] by negative errno. Read once: getSystemErrorMap() builds a new Map per call
// (~25 µs), which made every Error built for a reset or a timeout cost that much.
const SYSTEM_ERRORS = util.getSystemErrorMap();

/**
 * Builds the Error for a failed call; `errno` may be given positive or negative. `detail` is text
 * for the end of the message ("bind EADDRINUSE: Address already in use (detail)"), or where the call
 * was going: then the message is Node's ("connect ECONNREFUSED 127.0.0.1:1") and the error carries
 * `address` and `port`.
 */
export function systemError(errno: number, syscall: string, detail?: string | ErrorLocation): SystemError {
  const negative = -Math.abs(errno);
  let code: string;
  try {
    code = util.getSystemErrorName(negative);
  } catch {
    code = `Unknown system error ${negative}`;
  }
  // libuv has no name for some errnos (EINPROGRESS among them): take the platform's own.
  if (code.startsWith("Unknown")) code = ERRNO_NAMES.get(-negative) ?? code;
  if (typeof detail === "object") {
    const where = detail.port === undefined ? detail.address : `${detail.address}:${detail.port}`;
    const err = new Error(`${syscall} ${code} ${where}`) as SystemError;
    err.code = code;
    err.errno = negative;
    err.syscall = syscall;
    err.address = detail.address;
    if (detail.port !== undefined) err.port = detail.port;
    return err;
  }
  const text = strerror(Math.abs(errno));
  const err = new Error(`${syscall} ${code}: ${text}${detail ? ` ${detail}` : ""}`) as SystemError;
  err.code = code;
  err.errno = negative;
  err.syscall = syscall;
  return err;
}

/** The code of the error for a host name where only a numeric address can be taken (no lookup is possible there). */
export const ERR_NUMERIC_HOST_REQUIRED = "ERR_NUMERIC_HOST_REQUIRED";

/** A host name given where a numeric address is required: code ERR_NUMERIC_HOST_REQUIRED, `hostname`. */
export interface NumericHostError extends Error {
  code: typeof ERR_NUMERIC_HOST_REQUIRED;
  hostname: string;
}

/** Builds the error for `host` (a name) given where only a numeric address is taken. */
export function numericHostError(host: string): NumericHostError {
  const err = new Error(
    `host name ${JSON.stringify(host)} needs a lookup: use a numeric address, "" or "localhost" here ` +
      `(Dispatcher.connect() resolves names without blocking)`,
  ) as NumericHostError;
  err.code = ERR_NUMERIC_HOST_REQUIRED;
  err.hostname = host;
  return err;
}

/**
 * Socket.detach() of a socket holding what was taken from the kernel ahead of the application
 * (`count` bytes read ahead, or connections accepted ahead): code ERR_ASYNCORE_READ_AHEAD, `count`.
 */
export function readAheadError(count: number, unit: "byte" | "connection"): Error & { code: string; count: number } {
  const what = `${count} ${unit}${count === 1 ? "" : "s"} ${unit === "byte" ? "read" : "accepted"} ahead`;
  const fix = unit === "byte" ? "recv() them first, or read with the dispatcher's readAhead = 0" : "accept() them first";
  const err = new Error(`detach(): ${what} from this socket would be lost: ${fix}`) as Error & { code: string; count: number };
  err.code = "ERR_ASYNCORE_READ_AHEAD";
  err.count = count;
  return err;
}

/** The text for an errno (positive or negative); never empty. */
export function strerror(errno: number): string {
  if (typeof errno !== "number") throw new TypeError(`errno must be a number, got ${typeof errno}`);
  if (!Number.isInteger(errno)) return `Unknown error ${String(errno)}`;
  const entry = SYSTEM_ERRORS.get(-Math.abs(errno));
  if (entry) return entry[1];
  // libuv has no text for some errnos (EINPROGRESS, EALREADY): the C library's, as Python's os.strerror.
  if (Math.abs(errno) <= 0x7fffffff) {
    const text = binding.strerror(Math.abs(errno));
    if (text !== "" && !text.startsWith("Unknown error")) return text;
  }
  // As Python's _strerror: the errno's symbolic name when there is no text for it.
  return ERRNO_NAMES.get(Math.abs(errno)) ?? `Unknown error ${errno}`;
}

/** Positive errno → its first symbolic name on this platform ("EINPROGRESS"). */
const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(E).reverse().map(([name, value]) => [value, name] as const),
);

const WOULD_BLOCK: ReadonlySet<string> = new Set(["EAGAIN", "EWOULDBLOCK"]);

/**
 * True when a raw result (-errno, as the addon returns: no Error is built for it) or a thrown
 * system error means "would block"; false for anything else thrown.
 */
export function isWouldBlock(x: unknown): boolean {
  if (typeof x === "number") return x === -E.EAGAIN || x === -E.EWOULDBLOCK;
  return hasCode(x, WOULD_BLOCK);
}

/** True when `err` is a system error whose code is one of `codes`. */
export function hasCode(err: unknown, codes: ReadonlySet<string>): boolean {
  return typeof err === "object" && err !== null && codes.has((err as { code?: unknown }).code as string);
}

const UNCONNECTED: ReadonlySet<string> = new Set(["ENOTCONN", "EINVAL"]);
const CLOSE_IGNORED: ReadonlySet<string> = new Set(["ENOTCONN", "EBADF"]);
const BAD_DESCRIPTOR: ReadonlySet<string> = new Set(["EBADF"]);

/** getpeername() of a socket that is not connected (ENOTCONN; EINVAL on some systems). */
export function isUnconnected(err: unknown): boolean {
  return hasCode(err, UNCONNECTED);
}

/** A socket's close() error that asyncore's close() ignores: not connected, or closed already. */
export function isCloseIgnored(err: unknown): boolean {
  return hasCode(err, CLOSE_IGNORED);
}

/** EBADF: the descriptor was closed already (closeAll() goes on with the next channel). */
export function isBadDescriptor(err: unknown): boolean {
  return hasCode(err, BAD_DESCRIPTOR);
}

/** The peer is gone: a send or recv that fails with these closes the channel (asyncore's _DISCONNECTED). */
export const DISCONNECTED: ReadonlySet<string> = new Set(["ECONNRESET", "ENOTCONN", "ESHUTDOWN", "ECONNABORTED", "EPIPE", "EBADF"]);

export const EAGAIN = E.EAGAIN;
export const EWOULDBLOCK = E.EWOULDBLOCK;
export const EINPROGRESS = E.EINPROGRESS;
export const EALREADY = E.EALREADY;
export const EISCONN = E.EISCONN;
export const EBADF = E.EBADF;
export const ECONNABORTED = E.ECONNABORTED;
export const ENOTCONN = E.ENOTCONN;
export const EINVAL = E.EINVAL;

/**
 * -errno of a datagram send the kernel refuses for now (a full buffer: Linux says EAGAIN, BSDs may
 * say ENOBUFS): the datagram waits its turn.
 */
export function isDatagramBufferFull(r: number): boolean {
  return r === -E.EAGAIN || r === -E.EWOULDBLOCK || r === -E.ENOBUFS;
}

/** -errno of a datagram receive or send the peer caused: gone, or refused (ICMP port unreachable). */
export function isDatagramPeerGone(r: number): boolean {
  return r === -E.ECONNREFUSED || isDisconnect(r);
}

/** The operation on a closed socket. */
export function closedError(syscall: string): SystemError {
  return systemError(EBADF, syscall);
}

/** A TLS failure: a stable `code` (TLS_ERROR_CODES) and OpenSSL's reason text. */
export interface TLSError extends Error {
  code: string;
  /** OpenSSL's reason ("certificate verify failed"), or "" when the failure is not OpenSSL's. */
  reason: string;
  /** Why the peer's certificate was refused ("Hostname mismatch"), when it was. */
  verifyError?: string;
}

/** The codes of TLS errors; they do not change between versions. */
export const TLS_ERROR_CODES = {
  /** The peer's certificate was refused: untrusted, expired, or for another name. */
  CERT_VERIFY: "ERR_TLS_CERT_VERIFY",
  /** The handshake failed otherwise: no common protocol, a peer speaking something else, or gone. */
  HANDSHAKE: "ERR_TLS_HANDSHAKE",
  /** The connection ended without close_notify: the data may have been cut short by an attacker. */
  TRUNCATED: "ERR_TLS_TRUNCATED",
  /** A broken record, an unexpected message or alert on an established connection. */
  PROTOCOL: "ERR_TLS_PROTOCOL",
  /** The peer asked for a renegotiation, which is refused. */
  RENEGOTIATION: "ERR_TLS_RENEGOTIATION",
  /** The context's options were refused (a bad PEM text, an unknown cipher, ...). */
  CONFIG: "ERR_TLS_CONFIG",
} as const;

/** Builds a TLS error: `message`, then OpenSSL's reason when there is one. */
export function tlsError(code: string, message: string, reason = "", verifyError = ""): TLSError {
  const detail = verifyError !== "" ? `${reason}: ${verifyError}` : reason;
  const err = new Error(detail !== "" ? `${message}: ${detail}` : message) as TLSError;
  err.code = code;
  err.reason = reason;
  if (verifyError !== "") err.verifyError = verifyError;
  return err;
}

/**
 * Thrown by a handler to stop `loop()`: it rejects the loop's promise instead of going to
 * the channel's handleError().
 */
export class ExitNow extends Error {
  constructor(message?: string) {
    super(message);
    this.name = "ExitNow";
  }
}

// ---- errno classes (-errno as the addon returns it, or a thrown system error) --------------

function errnoSet(codes: readonly string[]): ReadonlySet<number> {
  const numbers = E as Record<string, number | undefined>;
  return new Set(codes.filter((code) => numbers[code] !== undefined).map((code) => -numbers[code]!));
}
const DISCONNECTED_ERRNOS = errnoSet([...DISCONNECTED]);

/** True when -errno or an error means the peer is gone (DISCONNECTED): the channel closes. */
export function isDisconnect(x: number | unknown): boolean {
  return typeof x === "number" ? DISCONNECTED_ERRNOS.has(x) : hasCode(x, DISCONNECTED);
}

// accept() errors that belong to one pending connection (it is gone, or the network refused it):
// the listener goes on. Linux passes a new connection's network errors on as accept() errors.
const ACCEPT_SKIPPED = errnoSet([
  "EAGAIN", "EWOULDBLOCK", "ECONNABORTED", "EINTR", "EPROTO", "EPERM", "ENETDOWN", "ENOPROTOOPT", "EHOSTDOWN",
  "ENONET", "EHOSTUNREACH", "EOPNOTSUPP", "ENETUNREACH", "ETIMEDOUT",
]);
// accept() errors that mean "no resources now": the listener pauses and retries later.
const OUT_OF_RESOURCES = errnoSet(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);

/** -errno of an accept() that concerns one pending connection only (or none was pending). */
export function isAcceptSkipped(errno: number): boolean {
  return ACCEPT_SKIPPED.has(errno);
}

/** -errno of a call that ran out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM). */
export function isOutOfResources(errno: number): boolean {
  return OUT_OF_RESOURCES.has(errno);
}

/** EIO: the error a poller-reported failure reads as when the socket has no pending error. */
export const EIO = E.EIO;
/** ETIMEDOUT: why a channel idle for its idleTimeout closes. */
export const ETIMEDOUT = E.ETIMEDOUT;
/** EPROTO: the fast paths' result once a TLS session failed (tls/socket.ts's FAILED). */
export const EPROTO = E.EPROTO;

/** -errno for a thrown system error's code (0 when it has no known one). */
export function errnoOf(err: unknown): number {
  const code = (err as { code?: unknown } | null)?.code;
  const n = typeof code === "string" ? (E as Record<string, number | undefined>)[code] : undefined;
  return n === undefined ? 0 : -n;
}

// splice() refusals: the kernel does not splice these descriptors (or has no splice at all).
const SPLICE_REFUSED = errnoSet(["EINVAL", "ENOSYS", "EOPNOTSUPP", "ENOTSUP"]);

/** -errno of a splice() refused for the descriptors given: the caller copies through user space instead. */
export function isSpliceRefused(errno: number): boolean {
  return SPLICE_REFUSED.has(errno);
}
