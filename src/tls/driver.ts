// Called by the TLS channel (tls/channel.ts: wrap(), connect(), tlsShutdown()): TLSDriver runs a channel's
// handshake, or its close_notify exchange, inside the loop, so the channel's own handlers never see them.
//
// While it runs it answers readable()/writable() from OpenSSL's want-read/want-write and takes the
// read and write events, whatever the channel's class says: own properties on the channel shadow every
// method up its prototype chain (a subclass's readable() included). Once done they are set back
// to what they were (the class's methods), never deleted: a delete would turn the channel into a
// dictionary-mode object, and every later property access on it into a slow lookup.
import { SOCK_STREAM } from "../constants.js";
import { Dispatcher } from "../dispatcher.js";
import { DISCONNECTED, closedError, hasCode } from "../errors.js";
import { recheck } from "../pass.js";
import { Socket, kBuffered } from "../socket.js";
import type { TLSContext } from "./context.js";
import { WANT_WRITE } from "./failure.js";
import { TLSSocket } from "./socket.js";

/** What the driver needs of a channel beyond Dispatcher (the TLS channel classes have it). */
export interface TLSChannelLike extends Dispatcher {
  closeError: Error | null;
  handleHandshake(): void;
}

export interface WrapOptions {
  /** Accepted side: wait for the client's hello (default false: this side is the client). */
  serverSide?: boolean;
  /**
   * Client: the name sent as SNI and checked against the certificate. Default: the host the
   * channel connects to (a name, or an address checked against the certificate's IP entries).
   */
  serverName?: string | null;
}

type Phase = "connect" | "handshake" | "closing" | "failed";
const GATED = ["readable", "writable", "handleReadEvent", "handleWriteEvent", "handleConnect"];

export class TLSDriver {
  readonly channel: TLSChannelLike;
  readonly socket: TLSSocket;
  phase: Phase;
  /** WANT_READ or WANT_WRITE: what OpenSSL waits for. */
  want: number;
  readonly serverName: string | null;
  // The channel's own values of the gated names before the driver took them (usually none).
  readonly #saved: (PropertyDescriptor | undefined)[];

  constructor(channel: TLSChannelLike, socket: TLSSocket, phase: Phase, want: number, serverName: string | null) {
    this.channel = channel;
    this.socket = socket;
    this.phase = phase;
    this.want = want;
    this.serverName = serverName;
    const gates = channel as unknown as Record<string, unknown>;
    this.#saved = GATED.map((name) => Object.getOwnPropertyDescriptor(channel, name));
    // Before the TCP connection: polled as a plain connecting channel (not at all before connect()).
    gates.readable = () => this.phase === "connect" ? channel.connecting : this.phase !== "failed" && this.want !== WANT_WRITE;
    gates.writable = () => this.phase === "connect" ? channel.connecting : this.phase !== "failed" && this.want === WANT_WRITE;
    gates.handleReadEvent = gates.handleWriteEvent = () => this.step();
    // Dispatcher.handleConnectEvent() calls it once TCP is connected: the handshake starts then,
    // and the channel's own handleConnect() waits until it is done.
    gates.handleConnect = () => this.begin();
  }

  /** One step, on a read or write event (or at once, for a shutdown). */
  step(): void {
    if (this.phase === "connect") {
      if (!this.channel.connecting) return;
      this.channel.handleConnectEvent();  // a failed connect throws, as on a plain channel
      if ((this.phase as Phase) !== "handshake") return;  // changed by handleConnect(), see above
    }
    try {
      if (this.phase === "handshake") {
        const r = this.socket.handshake();
        if (r === 0) this.#secured();
        else this.want = r;
      } else if (this.phase === "closing") {
        if (this.#drain()) return;
        const r = this.socket.shutdownStep();
        if (r === 1) this.#finish().close();
        else this.want = r;
      }
    } catch (err) {
      this.#failed(err);
    }
  }

  // Output the channel queued goes before close_notify (the peer reads nothing after it): true
  // while some is left, the next writable pass sends more.
  #drain(): boolean {
    const ch = this.channel as unknown as { _queued?: number; _producerFifo?: { length: number }; initiateSend?: () => void };
    const queued = (): boolean => (ch._queued ?? 0) > 0 || (ch._producerFifo?.length ?? 0) > 0;
    if (!queued() || ch.initiateSend === undefined) return false;
    ch.initiateSend();
    if (!queued()) return false;
    this.want = WANT_WRITE;
    return true;
  }

  /** Sends what the channel queued, then close_notify, and waits in the loop for the peer's; then closes the channel. */
  shutdown(): void {
    this.phase = "closing";
    this.want = WANT_WRITE;
    this.step();
  }

  /** Makes the TLS session and starts the handshake: the client speaks first, the server listens. */
  begin(): void {
    const addr = this.channel.addr;
    const host = Array.isArray(addr) && typeof addr[0] === "string" ? addr[0] : null;
    this.socket.begin(this.socket.serverSide ? null : this.serverName ?? host);
    this.phase = "handshake";
    this.want = this.socket.serverSide ? 0 : WANT_WRITE;
  }

  #finish(): TLSChannelLike {
    const ch = this.channel;
    const own = ch as unknown as Record<string, unknown>;
    const proto = Object.getPrototypeOf(ch) as Record<string, unknown>;
    GATED.forEach((name, i) => {
      own[name] = this.#saved[i]?.value ?? proto[name];
    });
    if ((ch as { _tls?: unknown })._tls === this) (ch as { _tls?: unknown })._tls = null;
    return ch;
  }

  #secured(): void {
    const ch = this.#finish();
    // The handshake's last flight may have brought application data along: hand it out next pass.
    if (this.socket[kBuffered]() > 0) recheck(ch);
    if (this.socket.serverSide) ch.handleHandshake();
    else ch.handleConnect();
  }

  #failed(err: unknown): void {
    const ch = this.channel;
    const closing = this.phase === "closing";
    this.phase = "failed";  // neither readable nor writable from now on: nothing can go on
    ch.closeError = err instanceof Error ? err : new Error(String(err));
    if (closing) {
      this.#finish().close();
      return;
    }
    if (hasCode(err, DISCONNECTED)) ch.handleClose();
    else ch.handleError(err);
  }
}

/**
 * Puts `channel`'s socket under TLS: a connected channel starts its handshake in the next pass, a
 * connecting (or not yet connecting) client once TCP is connected.
 */
export function wrapChannel(channel: TLSChannelLike, context: TLSContext, options: WrapOptions): TLSDriver {
  if (typeof options !== "object" || options === null) throw new TypeError("options must be an object");
  const serverSide = options.serverSide ?? false;
  if (typeof serverSide !== "boolean") throw new TypeError("serverSide must be a boolean");
  const serverName = options.serverName ?? null;
  if (serverName !== null && typeof serverName !== "string") throw new TypeError("serverName must be a string");
  const plain = channel.socket;
  if (plain instanceof TLSSocket) throw new Error("the channel is already under TLS");
  if (!(plain instanceof Socket)) throw new TypeError("wrap() needs the channel's socket (call createSocket() first)");
  if (plain.fileno() < 0) throw closedError("wrap");
  if (plain.type !== SOCK_STREAM) throw new TypeError("TLS needs a stream socket");
  if (plain[kBuffered]() > 0) throw new Error("input was read ahead of the TLS handshake: wrap before reading");
  if (serverSide && !channel.connected) throw new TypeError("serverSide wraps an accepted (connected) channel");
  // The same descriptor under a TLSSocket: detach() leaves it open and unwatched; the next pass
  // watches it again under the channel's unchanged map key.
  const { family, type, proto } = plain;
  const sock = new TLSSocket(context, serverSide, family, type, proto, plain.detach());
  channel.socket = sock;
  const driver = new TLSDriver(channel, sock, "connect", WANT_WRITE, serverName);
  if (channel.connected) driver.begin();
  return driver;
}
