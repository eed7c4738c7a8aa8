// Called by tls.ts (TLSDispatcher, TLSDispatcherWithSend, TLSAsyncChat) and by users' withTLS(MyChannel):
// TLS for any channel class, as a mixin, so that no channel class needs a TLS twin of its own.
//
// Adds wrap(), connect(address, context), handleHandshake(), tlsShutdown(), and the recv/send
// result handling TLS needs; the handshake itself is TLSDriver's.
import type { Address } from "../address.js";
import type { Dispatcher } from "../dispatcher.js";
import { DISCONNECTED, hasCode, isWouldBlock, systemError } from "../errors.js";
import { recheck } from "../pass.js";
import { checkInt, kBuffered, kTryRecv } from "../socket.js";
import type { TLSContext } from "./context.js";
import { TLSDriver, type WrapOptions, wrapChannel } from "./driver.js";
import { FAILED, type TLSInfo, TLSSocket } from "./socket.js";

const EMPTY = Buffer.alloc(0);

// The shape TypeScript requires of a mixin's base: a constructor taking `any[]` (nothing narrower
// is accepted there).
type ChannelClass = new (...args: any[]) => Dispatcher;

/** What withTLS() adds to a channel class. */
export interface TLSChannelMembers {
  closeError: Error | null;
  /** @internal */
  _tls: TLSDriver | null;
  wrap(context: TLSContext, options?: WrapOptions): void;
  connect(address: Address, context?: TLSContext, options?: Omit<WrapOptions, "serverSide">): void;
  readonly secure: boolean;
  tlsInfo(): TLSInfo | null;
  handleHandshake(): void;
  tlsShutdown(): void;
}

/**
 * `Base` with TLS: `class Mine extends withTLS(MyChannel) {}`. TLSDispatcher, TLSDispatcherWithSend
 * and TLSAsyncChat are this applied to the library's classes.
 */
export function withTLS<B extends ChannelClass>(Base: B): B & (new (...args: any[]) => TLSChannelMembers) {
  return class TLSChannel extends Base {
    // closeError (Dispatcher's) also carries TLS failures: a TLSError (ERR_TLS_TRUNCATED,
    // ERR_TLS_CERT_VERIFY, ...) set before handleClose()/handleError().
    /** @internal the handshake or shutdown in progress. */
    _tls: TLSDriver | null = null;

    /**
     * Puts the channel under TLS (Python's ssl.wrap_socket(do_handshake_on_connect=False)): an
     * accepted channel with `serverSide: true`, a client before or after connect(). The handshake
     * runs in the loop; handleConnect() (client) or handleHandshake() (server) follows it.
     */
    wrap(context: TLSContext, options: WrapOptions = {}): void {
      this._tls = wrapChannel(this, context, options);
    }

    /** Connects, with a context: wraps first, and the handshake follows the TCP connection. */
    override connect(address: Address, context?: TLSContext, options?: Omit<WrapOptions, "serverSide">): void {
      if (context !== undefined) this.wrap(context, { ...options, serverSide: false });
      super.connect(address);
    }

    /** True once the handshake is done and the session is intact. */
    get secure(): boolean {
      const s = this.socket;
      return s instanceof TLSSocket && s.secure;
    }

    /** Protocol, cipher, ALPN protocol and peer subject of the session; null until secure. */
    tlsInfo(): TLSInfo | null {
      const s = this.socket;
      return s instanceof TLSSocket ? s.info() : null;
    }

    /** The server side's handshake is done (a client gets handleConnect()). Default: nothing. */
    handleHandshake(): void {}

    /**
     * Sends the output queued so far, then close_notify, waits in the loop for the peer's, then
     * closes. close() alone sends close_notify too, without waiting for the answer (and drops
     * what OpenSSL could not send yet).
     */
    tlsShutdown(): void {
      const s = this.socket;
      if (!(s instanceof TLSSocket) || !s.secure) {
        this.close();
        return;
      }
      this._tls = new TLSDriver(this, s, "closing", 0, null);
      this._tls.shutdown();
    }

    /**
     * As Dispatcher.recv(); a wake-up that brought part of a record (nothing decrypted yet) gives
     * an empty Buffer without closing, and a failed session closes with closeError set.
     */
    override recv(bufferSize: number): Buffer {
      const sock = this.socket;
      if (!(sock instanceof TLSSocket)) return super.recv(bufferSize);
      checkInt(bufferSize, "bufferSize");
      const r = sock[kTryRecv](bufferSize);
      if (typeof r !== "number") {
        if (sock[kBuffered]() > 0) recheck(this);  // the rest of a record: no pending() stall
        if (r.length === 0 && bufferSize > 0) this._endOfInput();  // queued output still goes out first
        return r;
      }
      if (isWouldBlock(r)) return EMPTY;
      const err = r === FAILED && sock.failure !== null ? sock.failure : systemError(r, "recv");
      if (r !== FAILED && !hasCode(err, DISCONNECTED)) throw err;
      this._closeFor(err);
      return EMPTY;
    }

    /** @internal As Dispatcher's, and a failed session closes the channel with closeError set. */
    override _sent(r: number): number {
      const sock = this.socket;
      if (r === FAILED && sock instanceof TLSSocket && sock.failure !== null) {
        this._closeFor(sock.failure);
        return 0;
      }
      return super._sent(r);
    }
  };
}
