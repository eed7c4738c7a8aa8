// The port forwarder of the asyncore tutorial: a listening `Forwarder` accepts a local connection,
// wraps it in a `Receiver`, and creates a `Sender` that connects to the remote address; the two
// pass data to each other through buffers.
//
// Run it:  node dist/examples/port-forwarder.js -l 127.0.0.1 -p 8081 -r 127.0.0.1 -P 8000
//          (or: npx asyncore forward -p 8081 -r 127.0.0.1 -P 8000)
// then:    curl http://127.0.0.1:8081/   is answered by the server on 127.0.0.1:8000.
// It prints nothing while it works, and one line on stderr for a connection that fails (for
// instance when nothing listens on the remote address) or is reset.
//
// Flaws of the tutorial's recipe fixed here:
//  - Nothing is lost when one side closes. The recipe closed the other side at once, so a server
//    that sent a large response and closed got its response cut. Here the end of one side's input
//    is passed on as the end of the other side's output: what is buffered for it is delivered
//    first, then its socket is shut down for writing (and closed once its own input has ended).
//  - The buffers are bounded. The recipe read from a fast side as long as it had data, however
//    slowly the other side took it. Here a side is not readable() while the buffer towards the
//    other side holds BUFFER_LIMIT bytes or more, so the kernel's flow control slows its peer down.
//  - accept() may return null (the connection went away before it was taken); that is checked.
//  - A reset is passed on as a reset. A side that is reset or fails (closeError) closes at once,
//    and the other side is closed with SO_LINGER 0, so that its peer sees ECONNRESET and cannot
//    take a cut stream for a complete one; one line reports it. A closing side always takes the
//    other with it: nothing stays open after a half-close followed by a reset.
//  - No descriptor for the remote side (EMFILE...) is no crash: the client's connection waits,
//    accepting pauses, and socket() is tried again once a descriptor is free.
//
// TLS (asyncore/tls), either side or both: `forwarder.tls` (a context with a certificate)
// terminates TLS in front of a plain service (TLSReceiver), `forwarder.remoteTls` originates TLS
// to the remote (TLSSender).
// An end of stream is passed on as close_notify then a FIN; a reset is passed on without
// close_notify (a cut stream must not look complete); a failed handshake closes that connection.
// A TLS peer that ends with a FIN but no close_notify (Python's ssl servers, many HTTPS servers)
// is reported in one line and passed on as an end of stream, after everything it sent: what it
// sent is authentic, and an application protocol with framing (Content-Length) still sees a cut.
import net from "node:net";
import util, { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";
import {
  AF_INET, AF_INET6, type Address, Dispatcher, SHUT_WR, SOL_SOCKET, SO_ERROR, SO_LINGER, type Socket, type SocketMap, loop, wake,
} from "../src/index.js";
import { TLS_ERROR_CODES, type TLSContext, TLSSocket, withTLS } from "../src/tls.js";
import { ByteQueue } from "../src/byte-queue.js";

/** Stop reading from a side while this many bytes wait to be written to the other side. */
export const BUFFER_LIMIT = 256 * 1024;
/**
 * Bytes asked of each recv() at most (the recipe's 4096 makes a pass per 4 KiB; 64 KiB takes a
 * 100 KiB message in two reads and two sends), and never more than the room left under BUFFER_LIMIT.
 */
const READ_SIZE = 256 * 1024;

export { ByteQueue };

/** socket() failures that mean "no descriptor or memory for now": the connection waits. */
const SHORTAGE: ReadonlySet<string> = new Set(["EMFILE", "ENFILE", "ENOBUFS", "ENOMEM"]);
/** The first and the longest wait before a waiting connection tries socket() again. */
const RETRY_FIRST_MS = 10;
const RETRY_MAX_MS = 1000;
/** Shortages less than this apart are one burst, reported once. */
const BURST_QUIET_MS = 1000;
/** SO_LINGER {on, 0 s}: close() then sends a reset (RST) instead of a FIN. */
const LINGER_RESET = new Uint8Array(new Int32Array([1, 0]).buffer);

/** "connection reset by peer (ECONNRESET)" for a system error, else the error's message. */
export function describeFailure(err: unknown): string {
  const { code, errno, message } = (err ?? {}) as { code?: unknown; errno?: unknown; message?: unknown };
  if (typeof code === "string" && typeof errno === "number") {
    const entry = util.getSystemErrorMap().get(-Math.abs(errno));
    if (entry !== undefined) return `${entry[1]} (${code})`;
  }
  return typeof message === "string" && message !== "" ? message : String(err);
}

/**
 * One socket of a forwarded connection: the Receiver (the local client's connection) or the
 * Sender (the connection to the remote address). What it reads goes into the other side's
 * `outgoing` buffer; what is in its own `outgoing` buffer it writes to its socket.
 */
export abstract class ForwardingChannel extends Dispatcher {
  /** Read from the other side, waiting to be written to this side's socket. */
  readonly outgoing = new ByteQueue();
  /** The other side of the connection (null while a Receiver waits for a descriptor). */
  other: ForwardingChannel | null = null;
  /** This socket's peer has sent all it will send (end of stream, or it is gone). */
  inputEnded = false;
  /** Everything for this socket's peer has been written and the socket shut down for writing. */
  outputEnded = false;
  /** Bytes read from this socket, and written to it. */
  received = 0;
  sent = 0;
  /** Where failures and resets are reported. */
  report: (line: string) => void = (line) => console.error(line);
  /** Called once, when this channel's socket has been closed (a descriptor is free again). */
  onClosed: (() => void) | null = null;

  // True while recv() runs: a clean handleClose() from inside it is the end of this side's input.
  #reading = false;

  /** True once this socket carried a connection (a Sender: once its connect succeeded). */
  get established(): boolean {
    return true;
  }

  override readable(): boolean {
    return !this.inputEnded && this.other !== null && this.other.outgoing.length < BUFFER_LIMIT;
  }

  override writable(): boolean {
    return this.outgoing.length > 0 || (this.#otherEnded() && !this.outputEnded);
  }

  override handleRead(): void {
    const other = this.other;
    if (other === null) return;
    this.#reading = true;
    let data: Buffer;
    try {
      // Up to the bound exactly: the other side's buffer never holds more than BUFFER_LIMIT.
      data = this.recv(Math.max(1, Math.min(READ_SIZE, BUFFER_LIMIT - other.outgoing.length)));
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === "EAGAIN" || code === "EWOULDBLOCK") return;  // a spurious wake-up: nothing to read yet
      throw err;
    } finally {
      this.#reading = false;
    }
    if (data.length === 0 || this.other !== other) return;
    this.received += data.length;
    other.outgoing.push(data);
    // Write through at once when the other side can take it (as DispatcherWithSend does): the
    // buffer then only holds what its kernel refused, and no pass waits for a write event.
    if (other.connected && other.outgoing.length === data.length) other.handleWrite();
  }

  override handleWrite(): void {
    while (this.outgoing.length > 0) {
      const chunk = this.outgoing.first()!;
      const sent = this.send(chunk);
      if (this.fileno() === null) return;  // send() found the peer gone, and handleClose() closed us
      this.outgoing.consume(sent);
      this.sent += sent;
      if (sent < chunk.length) return;  // the kernel's buffer is full: the rest goes when writable
    }
    if (this.#otherEnded() && !this.outputEnded) this.#endOutput();
  }

  /**
   * A clean end of the stream from recv(): this side's input has ended; the other side passes
   * that on (a FIN) once it has written everything. A clean poll-style hang-up after our own
   * shutdown: the peer has finished as well, but what it sent last may still wait in the kernel,
   * so reading goes on until recv() reports the end. A reset or an error (closeError): this
   * socket is unusable, and the other side is reset too, so that its peer cannot take a cut
   * stream for a complete one.
   */
  override handleClose(): void {
    const err = this.closeError;
    if (err === null && this.#reading) {
      this.inputEnded = true;
      this.#closeIfDone();
    } else if (this.#reading && (err as { code?: unknown }).code === TLS_ERROR_CODES.TRUNCATED) {
      this.report(`${this.describe()}: ${describeFailure(err)}; passed on as an end of stream`);
      this.inputEnded = true;
      this.#closeIfDone();
    } else if (err === null && this.outputEnded && !this.inputEnded && this.#pendingError() === 0) {
      // An orderly hang-up: keep reading (a channel that is not readable() is not polled, so
      // the hang-up is not reported again until there is room to read).
    } else {
      this.abort(err);
    }
  }

  override handleError(err: unknown): void {
    this.abort(err instanceof Error ? err : new Error(String(err)));
  }

  /**
   * Nothing read or written for idleTimeout seconds: both sides are closed with a reset (their
   * peers must not take a connection cut in the middle for a complete one), with one line.
   */
  override handleTimeout(): void {
    const err = Object.assign(new Error(`idle for ${this.idleTimeout} s`), { code: "ETIMEDOUT" });
    this.abort(err);
  }

  /**
   * Closes this side now. With `err` on an established connection (a reset, a failed send, a
   * timeout, a handler that threw): this socket and the other side's are closed with a reset
   * (SO_LINGER 0) and one line is reported. Without an established connection (the remote
   * could not be reached) or without an error, the other side writes what it still holds for
   * its own peer, shuts down and closes (a clean end: nothing was cut).
   */
  abort(err: Error | null = null): void {
    if (this.fileno() === null) return;
    const other = this.other !== null && this.other.fileno() !== null ? this.other : null;
    const resetOther = err !== null && this.established && other !== null;
    if (err !== null) {
      const counts = this.established ? ` after ${this.received} bytes received, ${this.sent} sent` : "";
      const passed = resetOther ? `; reset passed on to the ${other.describe()}` : other !== null ? `; closing the ${other.describe()}` : "";
      this.report(`${this.describe()}: ${describeFailure(err)}${counts}${passed}`);
    }
    if (err !== null) this.resetNow();
    else this.#closeNow();
    if (other === null) return;
    if (resetOther) other.resetNow();
    else other.inputEnded = true;  // it stops reading, delivers what it holds, then closes
  }

  /** Closes this socket with a reset (RST): its peer sees ECONNRESET, not a clean end. */
  resetNow(): void {
    if (this.fileno() === null) return;
    if (this.socket instanceof TLSSocket) this.socket.abandon();  // no close_notify before the reset
    try {
      (this.socket as Socket).setsockopt(SOL_SOCKET, SO_LINGER, LINGER_RESET);
    } catch {
      // the socket is already gone (reset by its peer): a plain close is all there is to do
    }
    this.#closeNow();
  }

  #closeNow(): void {
    this.inputEnded = true;
    this.outputEnded = true;
    this.outgoing.clear();
    this.close();
  }

  override close(): void {
    const open = this.fileno() !== null;
    super.close();
    if (open) this.onClosed?.();
  }

  /** For report lines: which connection this is. */
  abstract describe(): string;

  #pendingError(): number {
    try {
      return (this.socket as Socket).getsockopt(SOL_SOCKET, SO_ERROR);
    } catch {
      return -1;
    }
  }

  #otherEnded(): boolean {
    return this.other !== null && this.other.inputEnded;
  }

  /** Nothing more will come for this socket's peer: tell it so (a FIN), keep reading its answer. */
  #endOutput(): void {
    this.outputEnded = true;
    try {
      (this.socket as Socket).shutdown(SHUT_WR);
    } catch {
      // ENOTCONN: the peer is already gone; there is nobody left to tell
    }
    this.#closeIfDone();
  }

  #closeIfDone(): void {
    if (this.inputEnded && this.outputEnded) this.close();
  }
}

/** The local side: the connection a client made to the forwarder. */
export class Receiver extends ForwardingChannel {
  readonly map: SocketMap | undefined;

  constructor(conn: Socket, map?: SocketMap) {
    super(conn, map);
    this.map = map;
  }

  get sender(): ForwardingChannel | null {
    return this.other;
  }

  override describe(): string {
    return `forwarded connection from ${this.addr === null ? "?" : formatAddress(this.addr)}`;
  }
}

/**
 * The remote side: the connection the forwarder makes for a Receiver. The constructor throws
 * (and links nothing) when no socket can be made (EMFILE...); a connect that fails is reported
 * and closes the Receiver.
 */
export class Sender extends ForwardingChannel {
  readonly receiver: Receiver;
  readonly remote: readonly [host: string, port: number];
  #established = false;

  constructor(receiver: Receiver, remoteIp: string, remotePort: number) {
    super(null, receiver.map);
    this.receiver = receiver;
    this.remote = [remoteIp, remotePort];
    this.createSocket(net.isIPv6(remoteIp) ? AF_INET6 : AF_INET);
    this.other = receiver;
    receiver.other = this;
    try {
      this.connect(this.remote);
    } catch (err) {
      this.handleError(err);  // a bad address: this connection cannot be forwarded
    }
  }

  override get established(): boolean {
    return this.#established;
  }

  override handleConnect(): void {
    this.#established = true;
  }

  override writable(): boolean {
    // While connecting too: the end of a non-blocking connect shows as writability.
    return this.connecting || super.writable();
  }

  override describe(): string {
    return `connection to ${formatAddress(this.remote)}`;
  }
}

/**
 * A Receiver under TLS (the forwarder terminates it): the client's connection handshakes first,
 * and counts as established once that is done (a failed handshake closes the remote side, it
 * does not reset it). The plain classes stay plain: forwarding without TLS pays nothing for it.
 */
export class TLSReceiver extends withTLS(Receiver) {
  #handshaking = true;

  constructor(conn: Socket, map: SocketMap | undefined, tls: TLSContext) {
    super(conn, map);
    this.wrap(tls, { serverSide: true });
  }

  override get established(): boolean {
    return !this.#handshaking;
  }

  override handleHandshake(): void {
    this.#handshaking = false;
  }
}

/**
 * A Sender under TLS: the connection the constructor started is wrapped before it completes, and
 * handleConnect() (established) comes once the handshake is done; the remote's certificate is
 * verified against `remoteIp` as a name.
 */
export class TLSSender extends withTLS(Sender) {
  constructor(receiver: Receiver, remoteIp: string, remotePort: number, tls: TLSContext) {
    super(receiver, remoteIp, remotePort);
    if (this.fileno() !== null) this.wrap(tls, { serverName: remoteIp });
  }
}

/**
 * Listens on ip:port and forwards every connection to remoteIp:remotePort. When no socket can
 * be made for the remote side (EMFILE, ENFILE, ENOBUFS, ENOMEM), the client's connection waits,
 * accepting pauses, and socket() is tried again as soon as a forwarded connection closes (or
 * after a back-off of 10 ms doubling to 1 s). One report line per burst of shortages (a burst
 * ends after a second without one).
 */
export class Forwarder extends Dispatcher {
  readonly map: SocketMap | undefined;
  /** Where failed connections are reported (given to each Receiver and Sender). */
  report: (line: string) => void = (line) => console.error(line);
  /** The idle timeout (seconds) of each side of each forwarded connection; null: none. */
  connectionIdleTimeout: number | null = null;
  /** A context with a certificate: clients connect under TLS, terminated here (null: plain). */
  tls: TLSContext | null = null;
  /** A client context: the connections to the remote are made under TLS (null: plain). */
  remoteTls: TLSContext | null = null;
  // Receivers waiting for a descriptor for their Sender, oldest first.
  readonly #waiting: Receiver[] = [];
  #retryTimer: NodeJS.Timeout | null = null;
  #retryDelay = 0;
  #lastShortage = -Infinity;  // when socket() last failed for lack of descriptors (ms)
  readonly #freed = (): void => {
    if (this.#waiting.length > 0) this.#scheduleRetry(0);
  };

  constructor(ip: string, port: number, readonly remoteIp: string, readonly remotePort: number, backlog = 5, map?: SocketMap) {
    super(null, map);
    this.map = map;
    this.createSocket(net.isIPv6(ip) ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    this.bind([ip, port]);
    this.listen(backlog);
  }

  /** The address actually bound (with the real port when it was 0). */
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  /** How many accepted connections wait for a descriptor. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Accepting pauses while connections wait for a descriptor. */
  override readable(): boolean {
    return this.#waiting.length === 0;
  }

  override handleAccept(): void {
    const pair = this.accept();
    if (pair === null) return;  // the client gave up before we took its connection (or no descriptor)
    const receiver = this.newReceiver(pair[0]);
    receiver.report = this.report;
    receiver.onClosed = this.#freed;
    receiver.idleTimeout = this.connectionIdleTimeout;
    if (this.#waiting.length > 0 || !this.#forward(receiver)) this.#wait(receiver);
  }

  /** Closes the listener, the connections still waiting, and any retry timer. */
  override close(): void {
    super.close();
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    for (const receiver of this.#waiting.splice(0)) receiver.close();
  }

  /** The channel for an accepted connection (a subclass may relay differently). */
  newReceiver(conn: Socket): Receiver {
    return this.tls === null ? new Receiver(conn, this.map) : new TLSReceiver(conn, this.map, this.tls);
  }

  /**
   * The connection to the remote for `receiver`. Throws, linking nothing, when no descriptor can
   * be had (EMFILE...): the receiver then waits.
   */
  newSender(receiver: Receiver): Sender {
    return this.remoteTls === null
      ? new Sender(receiver, this.remoteIp, this.remotePort)
      : new TLSSender(receiver, this.remoteIp, this.remotePort, this.remoteTls);
  }

  /** Opens the remote side for `receiver`; false when there is no descriptor for it now. */
  #forward(receiver: Receiver): boolean {
    let sender: Sender;
    try {
      sender = this.newSender(receiver);
    } catch (err) {
      if (SHORTAGE.has((err as { code?: string }).code ?? "")) {
        const now = performance.now();
        if (now - this.#lastShortage > BURST_QUIET_MS) {
          this.report(`cannot open a connection to ${formatAddress([this.remoteIp, this.remotePort])}: ${describeFailure(err)}; ` +
            "accepting paused, connections wait until descriptors free up (reported once per burst)");
        }
        this.#lastShortage = now;
        return false;
      }
      this.report(`${receiver.describe()}: cannot open a connection to ${formatAddress([this.remoteIp, this.remotePort])}: ${describeFailure(err)}`);
      receiver.close();
      return true;
    }
    sender.report = this.report;
    sender.onClosed = this.#freed;
    sender.idleTimeout = this.connectionIdleTimeout;
    return true;
  }

  #wait(receiver: Receiver): void {
    this.#waiting.push(receiver);
    this.#retryDelay = this.#retryDelay === 0 ? RETRY_FIRST_MS : Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
    this.#scheduleRetry(this.#retryDelay);
  }

  #scheduleRetry(ms: number): void {
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer);
    // Node's timers run while loop() waits; whatever the retry opens wakes the loop (addChannel).
    this.#retryTimer = setTimeout(() => this.#retry(), ms);
  }

  #retry(): void {
    this.#retryTimer = null;
    if (this.fileno() === null) return;  // closed meanwhile
    while (this.#waiting.length > 0) {
      const receiver = this.#waiting[0]!;
      if (receiver.fileno() !== null && !this.#forward(receiver)) {
        this.#retryDelay = Math.min(this.#retryDelay * 2, RETRY_MAX_MS);
        this.#scheduleRetry(this.#retryDelay);
        return;
      }
      this.#waiting.shift();
    }
    this.#retryDelay = 0;
    wake();  // the listener is readable() again
  }
}

function formatAddress(addr: Address): string {
  if (typeof addr === "string") return addr;
  return addr[0].includes(":") ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({
    options: {
      "local-ip": { type: "string", short: "l", default: "127.0.0.1" },
      "local-port": { type: "string", short: "p", default: "80" },
      "remote-ip": { type: "string", short: "r" },
      "remote-port": { type: "string", short: "P", default: "80" },
    },
  });
  if (values["remote-ip"] === undefined) {
    console.error("usage: port-forwarder.js [-l LOCAL_IP] [-p LOCAL_PORT] -r REMOTE_IP [-P REMOTE_PORT]");
    process.exit(2);
  }
  const forwarder = new Forwarder(values["local-ip"]!, Number(values["local-port"]), values["remote-ip"], Number(values["remote-port"]));
  console.error(`forwarding ${formatAddress(forwarder.address)} to ${values["remote-ip"]}:${values["remote-port"]}`);
  await loop();
}
