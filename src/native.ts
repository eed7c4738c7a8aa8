// The one module that loads the compiled addon. Everything native goes through `binding`.
// System calls return their result or a negative errno (never throw for a failed call): the
// Error is built by src/errors.ts, so would-block on the hot path costs no exception.
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** An address as the addon takes it: family, host (numeric) or AF_UNIX path, port, flowinfo, scope id. */
export type NativeAddress = readonly [family: number, host: string, port: number, flowinfo: number, scopeId: number];
/** What the addon returns for an address: [host, port(, flowinfo, scopeId)], an AF_UNIX path, or null. */
export type RawAddress = [string, number, ...number[]] | string | null;

export interface NativePoller {
  /** Registers the function that receives each harvest: `count` pairs [fd, revents] in `events`. Returns the backend's name. */
  init(callback: (count: number, events: Int32Array) => void): string;
  /** Applies `nchanges` [fd, POLL* mask] pairs from `changes`, then waits (ms; < 0 without limit). */
  wait(timeoutMs: number, changes: Int32Array, nchanges: number): void;
  /** Applies the changes; the number of pairs ready now (in the events array), -(count + 2) when that array was replaced (fetch it with events()), or -1 on the "uv" backend. */
  pollNow(changes: Int32Array, nchanges: number): number;
  /** Ends a pending wait at the next libuv turn. */
  wake(): void;
  /** How many descriptors have a poll handle (tests, leak checks). */
  watching(): number;
  /** The array harvests are written to; after a pollNow() that found something, the one holding its pairs. */
  events(): Int32Array;
  /** Stops watching `fd` (a descriptor given up without being closed). */
  forget(fd: number): void;
  /** RangeError when no descriptor can have the number `fd` (beyond RLIMIT_NOFILE and not open). */
  checkFd(fd: number): void;
}

export interface NativeBinding {
  constants: Record<string, number>;
  socket(family: number, type: number, proto: number): number;
  socketpair(family: number, type: number, proto: number): [number, number] | number;
  bind(fd: number, ...address: NativeAddress): number;
  listen(fd: number, backlog: number): number;
  connect(fd: number, ...address: NativeAddress): number;
  accept(fd: number): [number, RawAddress] | number;
  send(fd: number, data: ArrayBufferView, flags: number): number;
  /** One sendmsg() of the first `count` buffers; bytes sent or -errno. */
  sendv(fd: number, buffers: readonly Uint8Array[], count: number): number;
  sendto(fd: number, data: ArrayBufferView, flags: number, ...address: NativeAddress): number;
  // Receives fill buffer[offset, offset + length) of a Uint8Array src/receive.ts gives (TypeError
  // for anything else or a detached one, RangeError past its end) and never report more than that.
  /** recv(2): bytes or -errno. */
  recvInto(fd: number, buffer: Uint8Array, offset: number, length: number, flags?: number): number;
  /** recvfrom(2): [bytes, sender (null where the kernel gives none)] or -errno. */
  recvfromInto(fd: number, buffer: Uint8Array, offset: number, length: number, flags: number): [number, RawAddress] | number;
  /** read(2): bytes or -errno. */
  readInto(fd: number, buffer: Uint8Array, offset: number, length: number): number;
  /** Bytes the kernel holds for the next receive (FIONREAD), or -errno. */
  queued(fd: number): number;
  write(fd: number, data: ArrayBufferView): number;
  getsockname(fd: number): RawAddress | number;
  getpeername(fd: number): RawAddress | number;
  /** [value] for an integer option, a Buffer when `buflen` is given, or -errno. */
  getsockopt(fd: number, level: number, option: number, buflen?: number): [number] | Buffer | number;
  setsockopt(fd: number, level: number, option: number, value: number | boolean | ArrayBufferView): number;
  shutdown(fd: number, how: number): number;
  close(fd: number): number;
  dup(fd: number): number;
  reserveFds(fd: number, count: number): number;
  fdHeadroom(fd: number): number;
  setBlocking(fd: number, blocking: boolean): number;
  /** Bit 0: O_NONBLOCK, bit 1: FD_CLOEXEC; or -errno. */
  fdFlags(fd: number): number;
  /** poll(2) revents of one descriptor right now, or -errno. */
  pollNow(fd: number, events: number): number;
  /** The C library's text for a positive errno. */
  strerror(errno: number): string;
  /**
   * pipe2(O_NONBLOCK | O_CLOEXEC): [readFd, writeFd, capacity], or -errno (-ENOSYS where not Linux).
   * With `size`, the capacity is raised towards it where the kernel allows (F_SETPIPE_SZ).
   */
  pipe(size?: number): [number, number, number] | number;
  /** splice(2) with SPLICE_F_NONBLOCK | SPLICE_F_MOVE (plus `flags`: SPLICE_F_MORE): bytes moved, 0 at the end of fdIn, or -errno. */
  splice(fdIn: number, fdOut: number, length: number, flags?: number): number;
  /** A pipe's capacity in bytes (F_GETPIPE_SZ), or -errno. */
  getPipeSize(fd: number): number;
  /** Asks for a pipe capacity of at least `size` bytes (F_SETPIPE_SZ): the capacity granted, or -errno. */
  setPipeSize(fd: number, size: number): number;
  poller: NativePoller;
  tls: NativeTLS;
}

/** OpenSSL (Node's own) through the addon: see native/tls.cc. */
export interface NativeTLS {
  Context: new () => NativeTLSContext;
  /** (context, fd, serverSide, serverName or null, verify: 0 none, 1 the peer, 2 the peer and it must have a certificate) */
  Connection: new (context: NativeTLSContext, fd: number, serverSide: boolean, serverName: string | null, verify: number) => NativeTLSConnection;
  /** Statuses (WANT_READ, ...), protocol versions and the OpenSSL reasons told apart. */
  constants: Record<string, number>;
  /** OpenSSL's version text. */
  version: string;
}

/** Configuration calls return null, or the failed step and OpenSSL's reason. */
export interface NativeTLSContext {
  setCertificate(certPem: string, keyPem: string, passphrase: string | null): string | null;
  /** Certificates added to the trust store, or why none was. */
  addCA(pem: string): number | string;
  loadVerifyLocations(file: string | null, dir: string | null): string | null;
  setDefaultVerifyPaths(): string | null;
  /** 0: no bound. */
  setVersions(min: number, max: number): string | null;
  setCiphers(list: string | null, suites: string | null): string | null;
  /** Protocols in ALPN wire format (each name after its length byte). */
  setALPN(wire: Uint8Array): string | null;
  /** Servers: picks the context for the client's SNI name (null keeps this one); null removes it. */
  setServerNameCallback(callback: ((serverName: string) => NativeTLSContext | null | false) | null): void;
  close(): void;
}

/** Each call returns bytes (or 0/1) on success, a negative status otherwise. */
export interface NativeTLSConnection {
  handshake(): number;
  read(buffer: Uint8Array, offset: number, length: number): number;
  write(buffer: Uint8Array, offset: number, length: number): number;
  /** 1: both close_notify alerts exchanged; 0: ours is sent. */
  shutdown(): number;
  /** Decrypted bytes waiting inside OpenSSL. */
  pending(): number;
  /** [errno, library, reason code, reason text, verify result, verify text] of the last failure. */
  lastError(): [number, number, number, string, number, string];
  /** [version, cipher, ALPN protocol, peer certificate subject], or null once closed. */
  info(): [string, string | null, string | null, string | null] | null;
  close(): void;
}

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const nodeGypBuild = require("node-gyp-build") as { path(dir: string): string };

/** How to get an addon where there is none, or none that loads: the same fix either way. */
const FIX = "run `npm rebuild asyncore` to compile it (needs a C++ compiler, make and python3)";

/**
 * The addon: a local build/ (from source) first, else the prebuilt one shipped in prebuilds/ for this
 * platform. Either failure becomes one sentence that says what is missing and how to fix it, instead
 * of node-gyp-build's list of tags or the dynamic loader's text alone (its first line is kept).
 */
function loadBinding(): NativeBinding {
  let file: string;
  try {
    file = nodeGypBuild.path(root);
  } catch {
    const where = `${process.platform}-${process.arch}`;
    throw addonError(
      "ERR_ASYNCORE_ADDON_MISSING",
      `asyncore: its native addon is missing (no prebuilt one for ${where} in prebuilds/, no build/ from source); ${FIX}.`,
    );
  }
  try {
    return require(file) as NativeBinding;
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message.split("\n")[0] : String(cause);
    const shown = file.startsWith(root + path.sep) ? path.relative(root, file) : file;
    throw addonError(
      "ERR_ASYNCORE_ADDON_LOAD",
      `asyncore: its native addon ${shown} does not load on this system (${reason}); ${FIX}.`,
    );
  }
}

function addonError(code: string, message: string): Error & { code: string } {
  const err = new Error(message) as Error & { code: string };
  err.code = code;
  return err;
}

// A copy: the addon's exports object keeps its properties in a dictionary, so each binding.recvInto
// or binding.send on the hot path would be a hash lookup; a plain object's loads compile to constants.
export const binding: NativeBinding = { ...loadBinding() };
