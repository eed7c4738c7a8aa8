// Made by wrapChannel() (tls/driver.ts) and read by the TLS channel: TLSSocket, a Socket whose stream
// goes through an OpenSSL session on the same descriptor, so the dispatcher's calls stay unchanged.
//
// The dispatcher's fast paths (kTryRecv, kTrySend, kTrySendv, kBuffered) read and write plaintext;
// the kernel only ever sees records. Native reads take what the kernel has in one recv() and
// decrypt the whole records it brought; native writes send a batch of records in one send(). No
// call blocks.
import { SHUT_RD } from "../constants.js";
import { EAGAIN, EBADF, EPROTO, closedError, systemError } from "../errors.js";
import { type NativeTLSConnection, binding } from "../native.js";
import { Socket, checkBytes, checkInt, kBuffered, kTryRecv, kTrySend, kTrySendv } from "../socket.js";
import type { TLSContext } from "./context.js";
import { CLOSED, type Step, WANT_READ, WANT_WRITE, ZERO_RETURN, tlsFailure } from "./failure.js";

const EMPTY = Buffer.alloc(0);
/** What the fast paths return once the session failed: the Error is in `failure`. */
export const FAILED = -EPROTO;
const WOULD_BLOCK = -EAGAIN;
// One read returns at most this much plaintext (four full records, what one recv() can bring).
const READ_MAX = 65536;
// Reads go here first, then into a Buffer of their own size: most reads are far below this.
const scratch = Buffer.allocUnsafeSlow(READ_MAX);
// A gather-write joins at most this much into one write (a few records).
const GATHER = 65536;

export interface TLSInfo {
  /** "TLSv1.3" */
  version: string;
  cipher: string | null;
  /** The ALPN protocol agreed on, or null. */
  alpn: string | null;
  /** The peer certificate's subject ("/CN=localhost"), or null when it sent none. */
  peerSubject: string | null;
}

export class TLSSocket extends Socket {
  readonly context: TLSContext;
  readonly serverSide: boolean;
  /** Why the session ended abnormally (set when a fast path returns FAILED, or a step throws). */
  failure: Error | null = null;
  #conn: NativeTLSConnection | null = null;
  #secure = false;
  #closeSent = false;
  #closeReceived = false;

  /** Takes over `fd` (a connected or connecting stream socket); begin() starts the session. */
  constructor(context: TLSContext, serverSide: boolean, family: number, type: number, proto: number, fd: number) {
    super(family, type, proto, fd);
    this.context = context;
    this.serverSide = serverSide;
  }

  /** True once begin() made the session. */
  get started(): boolean {
    return this.#conn !== null;
  }

  /** True once the handshake is complete (and the session has not failed). */
  get secure(): boolean {
    return this.#secure && this.failure === null;
  }

  /** True once the peer's close_notify was read. */
  get closeReceived(): boolean {
    return this.#closeReceived;
  }

  /** Makes the session. A verifying client must name the server (SNI, and the certificate's name). */
  begin(serverName: string | null): void {
    if (this.#conn !== null) throw new Error("the TLS session has already begun");
    const fd = this.fileno();
    if (fd < 0) throw closedError("tls begin");
    const ctx = this.context;
    const verifying = this.serverSide ? ctx.verify === true : ctx.verify !== false;
    if (!this.serverSide && verifying && (serverName === null || serverName === "")) {
      throw new TypeError("a server name is needed to verify the server's certificate (or verify: false in the context)");
    }
    if (this.serverSide && !ctx.hasCertificate) throw new TypeError("a server-side TLS context needs cert and key");
    const mode = !verifying ? 0 : this.serverSide ? 2 : 1;
    this.#conn = new binding.tls.Connection(ctx._native(!this.serverSide && verifying), fd, this.serverSide, serverName, mode);
  }

  /** One handshake step: 0 when complete, else WANT_READ or WANT_WRITE. A failure is thrown. */
  handshake(): number {
    const conn = this.#session("handshake");
    const r = conn.handshake();
    if (r === 0) {
      this.#secure = true;
      return 0;
    }
    if (r === WANT_READ || r === WANT_WRITE) return r;
    throw this.#fail(conn, r, "handshake");
  }

  /**
   * One step of the close_notify exchange: 1 when both alerts have passed, else WANT_READ or
   * WANT_WRITE. Application data still arriving is dropped. A failure is thrown.
   */
  shutdownStep(): number {
    const conn = this.#session("shutdown");
    if (!this.#closeSent) {
      const r = conn.shutdown();
      if (r === 1) {
        this.#closeSent = this.#closeReceived = true;
        return 1;
      }
      if (r !== 0) {
        if (r === WANT_READ || r === WANT_WRITE) return r;
        throw this.#fail(conn, r, "shutdown");
      }
      this.#closeSent = true;
    }
    for (;;) {
      const r = conn.read(scratch, 0, READ_MAX);
      if (r > 0) continue;
      if (r === ZERO_RETURN) {
        this.#closeReceived = true;
        return 1;
      }
      if (r === WANT_READ || r === WANT_WRITE) return r;
      throw this.#fail(conn, r, "shutdown");
    }
  }

  /** The session's protocol, cipher, ALPN protocol and peer; null before the handshake or once closed. */
  info(): TLSInfo | null {
    const i = this.#secure ? this.#conn?.info() : null;
    if (i === null || i === undefined) return null;
    return { version: i[0], cipher: i[1], alpn: i[2], peerSubject: i[3] };
  }

  /** @internal */
  override [kTryRecv](n: number, _readAhead = 0): Buffer | number {
    const conn = this.#conn;
    if (this.fileno() < 0) return -EBADF;
    if (this.failure !== null) return FAILED;
    if (conn === null || !this.#secure) return WOULD_BLOCK;
    if (this.#closeReceived || n === 0) return EMPTY;
    const r = conn.read(scratch, 0, Math.min(n, READ_MAX));
    if (r > 0) return Buffer.from(scratch.subarray(0, r));
    if (r === WANT_READ || r === WANT_WRITE) return WOULD_BLOCK;  // no whole record yet
    if (r === ZERO_RETURN) {
      this.#closeReceived = true;
      return EMPTY;
    }
    this.#fail(conn, r, "read");
    return FAILED;
  }

  // After a write that could not send all its records, the native side holds records of bytes
  // not counted as taken: the next write must start with those same bytes (a send queue's head
  // always does).
  /** @internal */
  override [kTrySend](data: Uint8Array): number {
    const conn = this.#conn;
    if (this.fileno() < 0) return -EBADF;
    if (this.failure !== null) return FAILED;
    if (conn === null || !this.#secure) return WOULD_BLOCK;  // queued by the caller until secure
    let off = 0;
    while (off < data.length) {
      const r = conn.write(data, off, data.length - off);
      if (r > 0) {
        off += r;
        continue;
      }
      if (r === WANT_READ || r === WANT_WRITE) break;
      this.#fail(conn, r, "write");
      return off > 0 ? off : FAILED;
    }
    return off > 0 ? off : WOULD_BLOCK;
  }

  /** @internal */
  override [kTrySendv](buffers: readonly Uint8Array[], count: number): number {
    if (count === 1) return this[kTrySend](buffers[0]!);
    let total = 0;
    let k = 0;
    while (k < count && total < GATHER) total += buffers[k++]!.length;
    return this[kTrySend](Buffer.concat(buffers.slice(0, k), total));
  }

  /** @internal Decrypted bytes waiting inside OpenSSL: the loop hands them out without asking the kernel. */
  override [kBuffered](): number {
    return this.#conn === null || !this.#secure ? 0 : this.#conn.pending();
  }

  /** Plaintext, as Socket.recv(); no flags. An empty Buffer at the end (close_notify). */
  override recv(bufferSize: number, flags = 0): Buffer {
    checkInt(bufferSize, "bufferSize");
    if (checkInt(flags, "flags") !== 0) throw new RangeError("a TLS socket takes no recv flags");
    return this.#settle(this[kTryRecv](bufferSize), "recv") as Buffer;
  }

  /** Plaintext bytes taken, as Socket.send(); no flags. */
  override send(data: Uint8Array, flags = 0): number {
    checkBytes(data);
    if (checkInt(flags, "flags") !== 0) throw new RangeError("a TLS socket takes no send flags");
    return this.#settle(this[kTrySend](data), "send") as number;
  }

  /** A TLS session cannot be carried over to another owner of the descriptor. */
  override detach(): number {
    throw new Error("a TLS socket cannot be detached");
  }

  /**
   * Half-close: for SHUT_WR and SHUT_RDWR, close_notify goes first (when the session is intact),
   * so that the peer reads a clean end rather than a truncated stream; then the TCP shutdown.
   * Reading goes on after SHUT_WR (TLS 1.3 peers keep writing; a TLS 1.2 peer may answer at once).
   */
  override shutdown(how: number): void {
    const conn = this.#conn;
    if (how !== SHUT_RD && conn !== null && this.#secure && this.failure === null && !this.#closeSent && this.fileno() >= 0) {
      this.#closeSent = true;
      conn.shutdown();
    }
    super.shutdown(how);
  }

  /**
   * Drops the session without close_notify: a following close() then looks like a cut stream to
   * the peer, which is what passing a reset on needs (a close_notify would say "complete").
   */
  abandon(): void {
    this.#closeSent = true;
  }

  /**
   * Sends close_notify (when the session is intact and it was not sent yet: the peer can then tell
   * the end from a cut), frees the session, closes the descriptor. Closing twice is harmless.
   */
  override close(): void {
    const conn = this.#conn;
    if (conn !== null) {
      this.#conn = null;
      if (this.#secure && this.failure === null && !this.#closeSent && this.fileno() >= 0) conn.shutdown();
      conn.close();
    }
    super.close();
  }

  #settle(r: Buffer | number, syscall: string): Buffer | number {
    if (typeof r !== "number" || r >= 0) return r;
    if (r === FAILED && this.failure !== null) throw this.failure;
    throw systemError(r, syscall);
  }

  #session(step: Step): NativeTLSConnection {
    if (this.#conn === null || this.fileno() < 0) throw closedError(`tls ${step}`);
    if (this.failure !== null) throw this.failure;
    return this.#conn;
  }

  #fail(conn: NativeTLSConnection, status: number, step: Step): Error {
    const err = status === CLOSED ? closedError(`tls ${step}`) : tlsFailure(conn, status, step);
    this.failure = err;
    return err;
  }
}
