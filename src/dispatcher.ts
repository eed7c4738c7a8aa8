// Exported by index.ts, and the base of every channel class (DispatcherWithSend, AsyncChat, the datagram,
// file and TLS channels): asyncore's dispatcher over a Socket, kept as close to asyncore.py as it can be.
import {
  AF_INET, AF_INET6, IPPROTO_TCP, POLLERR, POLLNVAL, SOCK_STREAM, SOL_SOCKET, SO_ERROR, SO_REUSEADDR, TCP_NODELAY,
} from "./constants.js";
import { type Address, errorLocation, localLocation, resolveAddress, toNativeAddress } from "./address.js";
import {
  EALREADY, EBADF, EINPROGRESS, EIO, EISCONN, EWOULDBLOCK, errnoOf, isAcceptSkipped, isCloseIgnored, isDisconnect, isOutOfResources,
  isUnconnected, isWouldBlock, systemError,
} from "./errors.js";
import { type Channel, type SocketMap, socketMap, wake } from "./loop.js";
import { PassState, kPassState, recheck } from "./pass.js";
import {
  type Transport, Socket, checkBytes, checkInt, kBuffered, kConnectNative, kTryAccept, kTryRecv, kTrySend, takeAcceptedPeer,
} from "./socket.js";
import { compactTraceback } from "./traceback.js";
import type { FileWrapper } from "./file-dispatcher.js";
import type { NativeAddress } from "./native.js";
import { type IdleRecord, closeOnTimeout, getIdleTimeout, setIdleTimeout, touchIdle } from "./idle.js";

const EMPTY = Buffer.alloc(0);

/** Connections the default handleAccept() takes per readable event: a burst is drained in few passes, others still get their turn. */
const ACCEPT_BATCH = 64;
const ACCEPT_BACKOFF_MIN_MS = 10;
const ACCEPT_BACKOFF_MAX_MS = 1000;
// Resource errors less than this apart are one burst (one log line), even with accepts between them.
const ACCEPT_BURST_GAP_MS = 5000;
const TCP_INFO = process.platform === "linux" ? 11 : -1;

/** A listener's accept back-off: its current delay (0: none), the timer that ends the pause, the last error's time. */
interface AcceptPause {
  backoff: number;
  timer: ReturnType<typeof setTimeout> | null;
  errorAt: number;
}

export { DEFAULT_OUTPUT_HIGH_WATER, MAX_DEFERRED, checkHighWater } from "./output-bound.js";

/**
 * asyncore's dispatcher. `S` is what `socket` holds: a Socket (the default; so
 * `this.socket?.getpeername()` needs no cast), or a FileWrapper for a FileDispatcher.
 */
// Fields a channel rarely changes are defaults on the prototype (below the class), as asyncore's
// class attributes are: an instance holds one only once it is set, so an idle accepted connection
// carries just what it uses (each field costs 8 bytes per connection; 10,000 idle connections are
// a target). Writes of a default value are skipped where it may already be the default (close(),
// setSocket()): such a write would add the field to every instance. What every pass or every read
// reads and most channels change (connected, socket, _fileno, _pollHint) stays an own field, so
// instances of a class keep one hidden class.
export class Dispatcher<S extends Socket | FileWrapper = Socket> implements Channel {
  declare debug: boolean;
  connected = false;
  /** True once listen() was called (until close()); default false. */
  declare accepting: boolean;
  /** True from connect() until the connection is made or closed; default false. */
  declare connecting: boolean;
  declare closing: boolean;
  addr: Address | null = null;
  socket: S | null = null;
  // Made on first use: most channels never log, and a Set each would cost ~200 bytes per connection.
  /** @internal */
  declare _ignoreLogTypes: Set<string> | null;
  /** Log types logInfo() does not print (default: {"warning"}). */
  get ignoreLogTypes(): Set<string> {
    return (this._ignoreLogTypes ??= new Set(["warning"]));
  }
  set ignoreLogTypes(types: Set<string>) {
    this._ignoreLogTypes = types;
  }
  /**
   * TCP_NODELAY on the TCP sockets this dispatcher connects or accepts (default true): without it,
   * a reply sent in pieces waits ~40 ms for the peer's delayed ACK. Set false for Nagle's algorithm.
   */
  declare tcpNoDelay: boolean;
  /**
   * recv(n) on a stream socket reads up to this many bytes from the kernel at once and hands them
   * out n at a time (a pass with buffered input does not wait). 0 reads exactly what is asked.
   */
  declare readAhead: number;
  /**
   * Why the channel is closing: set just before handleClose() is called because of a reset or an
   * error (a failed recv/send, an error reported by the poller, a failed connect, an error that
   * went to handleError()); null when handleClose() comes from a clean end of input. Only a new
   * socket sets it back to null.
   */
  declare closeError: Error | null;

  // The map given to the constructor; the prototype's default is socketMap.
  /** @internal */
  declare _map: SocketMap;
  /** @internal */
  _fileno: number | null = null;
  // A name lookup for connect() in flight (Hold), or its failure waiting to be reported. Default null.
  /** @internal */
  declare _lookup: "pending" | null;
  // Set by recheck() when the pass must ask [kPassState]() (a lookup, or input read ahead): one
  // field load per pass for every other channel (pass.ts).
  /** @internal */
  _pollHint = false;
  /** @internal */
  declare _lookupError: unknown;
  // Made when accept() first runs out of descriptors (most channels never do). Default null.
  /** @internal */
  declare _acceptPause: AcceptPause | null;

  constructor(sock?: Socket | null, map?: SocketMap) {
    if (map !== undefined && map !== null && !(map instanceof Map)) throw new TypeError("map must be a Map");
    if (sock !== undefined && sock !== null && !(sock instanceof Socket)) throw new TypeError("sock must be a Socket");
    if (map !== undefined && map !== null) this._map = map;
    if (sock) {
      // Just accepted: non-blocking from birth, and accept() gave the peer's address.
      const peer = takeAcceptedPeer(sock);
      // Non-blocking just in case it came from a blocking source.
      if (peer === null) sock.setblocking(false);
      this.setSocket(sock, map ?? undefined);
      this.connected = true;
      if (peer !== null) {
        this.addr = peer;
        return;
      }
      try {
        this.addr = sock.getpeername();
      } catch (err) {
        if (isUnconnected(err)) {
          this.connected = false;  // an unconnected socket: fine
        } else {
          this.delChannel(map ?? undefined);  // broken in some unknown way: do not poll it
          throw err;
        }
      }
    }
  }

  toString(): string {
    const status = [this.constructor.name];
    if (this.accepting && this.addr) status.push("listening");
    else if (this.connected) status.push("connected");
    if (this.addr !== null) status.push(typeof this.addr === "string" ? JSON.stringify(this.addr) : `${this.addr[0]}:${this.addr[1]}`);
    return `<${status.join(" ")} fd=${this._fileno ?? "closed"}>`;
  }

  fileno(): number | null {
    return this._fileno;
  }

  addChannel(map?: SocketMap): void {
    if (this._fileno === null) throw new TypeError("addChannel(): the dispatcher has no socket");
    (map ?? this._map).set(this._fileno, this);
    wake();
  }

  delChannel(map?: SocketMap): void {
    const fd = this._fileno;
    const m = map ?? this._map;
    if (fd !== null && m.get(fd) === this) {
      m.delete(fd);
      wake();
    }
    this._fileno = null;
  }

  createSocket(family: number = AF_INET, type: number = SOCK_STREAM): void {
    const sock = new Socket(family, type);
    sock.setblocking(false);
    this.setSocket(sock);
  }

  setSocket(sock: Socket, map?: SocketMap): void {
    if (!(sock instanceof Socket)) throw new TypeError("sock must be a Socket");
    if (sock.fileno() < 0) throw systemError(EBADF, "setSocket", "(the Socket is closed)");  // no map key -1
    this.socket = sock as S;  // a Socket, whatever S says: FileDispatcher does not call setSocket()
    this._fileno = sock.fileno();
    if (this.closeError !== null) this.closeError = null;
    this.addChannel(map);
  }

  setReuseAddr(): void {
    try {
      const s = this._socketFor("setsockopt");
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, s.getsockopt(SOL_SOCKET, SO_REUSEADDR) | 1);
    } catch {
      // as in Python: a socket that cannot reuse addresses still works
    }
  }

  readable(): boolean {
    return true;
  }

  writable(): boolean {
    return true;
  }

  listen(backlog: number): void {
    checkInt(backlog, "backlog", -0x80000000);
    this.accepting = true;
    this._socketFor("listen").listen(backlog);
  }

  bind(address: Address): void {
    this.addr = address;
    this._socketFor("bind").bind(address);
  }

  /** Starts connecting without blocking; a host name is looked up first, off the loop's thread. */
  connect(address: Address): void {
    const sock = this._socketFor("connect");
    const native = toNativeAddress(sock.family, address);  // throws on a bad shape, now
    this.connected = false;
    this.connecting = true;
    this._noDelay(sock);
    if (native !== null) {
      this._connectTo(sock, native, address);
      return;
    }
    this.addr = address;
    this._lookup = "pending";
    recheck(this);
    resolveAddress(sock.family, address).then(
      (resolved) => {
        if (this.socket !== sock || sock.fileno() < 0) return;  // closed meanwhile
        this._lookup = null;
        try {
          this._connectTo(sock, resolved, address);
        } catch (err) {
          this._lookupError = err;
        }
        wake();
      },
      (err: unknown) => {
        this._lookup = null;
        this._lookupError = err;
        wake();
      },
    );
  }

  // Where the last connect went (numeric): its errors say so, as Node's do. A prototype default
  // (null, below the class): accepted channels never connect, and carry no field for it.
  /** @internal */
  declare _connectingTo: NativeAddress | null;

  /** @internal */
  _connectTo(sock: Socket, native: NativeAddress, address: Address): void {
    this._connectingTo = native;
    const err = sock[kConnectNative](native);
    if (err === EINPROGRESS || err === EALREADY || err === EWOULDBLOCK) {
      this.addr = address;
      return;
    }
    if (err === 0 || err === EISCONN) {
      this.addr = address;
      this.handleConnectEvent();
      return;
    }
    throw systemError(err, "connect", errorLocation(native));
  }

  /** @internal How the next pass polls the channel, asked after recheck() (Normal: as readable()/writable() say). */
  [kPassState](): PassState {
    if (this._lookupError !== null) return PassState.ReadyNow;
    if (this._lookup === "pending") return PassState.Hold;
    if (this._acceptPause?.timer != null) return PassState.Hold;
    // Output above its bound, or waiting to close: polled for writing only (asked again next pass).
    if (this._holdsInput()) return PassState.WriteOnly;
    if (this.socket !== null && this.socket[kBuffered]() > 0) return PassState.Readable;
    return PassState.Normal;
  }

  /** Internal: true while the channel holds its input back (channels with an output queue say when). */
  /** @internal */
  _holdsInput(): boolean {
    return false;
  }

  /** @internal */
  _noDelay(sock: Socket): void {
    if (!this.tcpNoDelay || sock.type !== SOCK_STREAM || (sock.family !== AF_INET && sock.family !== AF_INET6)) return;
    try {
      sock.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
    } catch {
      // not every stream socket is TCP (a raw proto given by the user): nothing to switch off
    }
  }

  /**
   * A pending connection and its peer's address, or null when none is pending. Errors never close
   * the listener: one that concerns a single connection (ECONNABORTED, EPROTO...) returns null; out
   * of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) returns null and pauses accepting
   * (back-off from 10 ms doubling to 1 s; one log line per burst, errors less than 5 s apart being
   * one burst) so that the loop does not spin.
   */
  accept(): [Socket, Address] | null {
    const sock = this._socketFor("accept");
    let pair: [Socket, Address];
    if (sock.accept === Socket.prototype.accept) {
      // The raw result: would-block (most readable events end with it) builds no Error.
      const r = sock[kTryAccept](true);
      if (typeof r === "number") return this._acceptFailed(sock, r, null);
      pair = r;
      if (sock[kBuffered]() > 0) recheck(this);  // accepted ahead: the next pass hands them out
    } else {
      // accept() replaced (wrapped or mocked, as Python code may do): its errors, sorted the same way.
      try {
        pair = sock.accept();
      } catch (err) {
        return this._acceptFailed(sock, errnoOf(err), err);
      }
    }
    if (this._acceptPause !== null) this._acceptPause.backoff = 0;
    this._noDelay(pair[0]);
    return pair;
  }

  // A failed accept (-errno; `thrown` when a replaced accept() threw it): null, or the error thrown.
  /** @internal */
  _acceptFailed(sock: Socket, errno: number, thrown: unknown): null {
    if (isAcceptSkipped(errno)) {
      if (this._acceptPause !== null) this._acceptPause.backoff = 0;  // a descriptor could be had
      return null;
    }
    const err = thrown ?? systemError(errno, "accept", localLocation(sock));
    if (isOutOfResources(errno)) {
      this._pauseAccepting(sock, err as Error);
      return null;
    }
    throw err;
  }

  /** @internal */
  _pauseAccepting(sock: Socket, err: Error): void {
    const pause = (this._acceptPause ??= { backoff: 0, timer: null, errorAt: -Infinity });
    const now = performance.now();
    const newBurst = now - pause.errorAt > ACCEPT_BURST_GAP_MS;
    pause.errorAt = now;
    const delay = pause.backoff === 0 ? ACCEPT_BACKOFF_MIN_MS : Math.min(pause.backoff * 2, ACCEPT_BACKOFF_MAX_MS);
    pause.backoff = delay;
    recheck(this);
    if (pause.timer !== null) clearTimeout(pause.timer);
    // The pause lasts until this timer runs (not until a clock reading: Node's timers may run a
    // little before performance.now() says the time is up, and no second timer would come), and
    // the timer ends the loop's wait (the listener is not polled meanwhile).
    pause.timer = setTimeout(() => {
      pause.timer = null;
      wake();
    }, delay);
    if (newBurst) {
      const waiting = waitingConnections(sock);
      this.logInfo(
        `${err.message}: accepting paused on ${String(this)}${waiting === null ? "" : ` with ${waiting} connection${waiting === 1 ? "" : "s"} waiting`}` +
          `; retrying with back-off up to ${ACCEPT_BACKOFF_MAX_MS / 1000} s`,
        "error",
      );
    }
  }

  /** Bytes the kernel took; 0 when it would block; on a disconnect: handleClose() and 0. */
  send(data: Uint8Array): number {
    checkBytes(data);
    return this._sent(this._transportFor("send")[kTrySend](data));
  }

  /** Internal: what send() makes of a raw result (bytes, or -errno). */
  /** @internal */
  _sent(r: number): number {
    if (r > 0 && this._idle !== null) touchIdle(this._idle);  // sending is activity (idle timeout)
    if (r >= 0) return r;
    if (isWouldBlock(r)) return 0;  // a full kernel buffer is routine: no Error for it
    const err = systemError(r, "send");
    if (isDisconnect(r)) {
      this._closeFor(err);
      return 0;
    }
    throw err;
  }

  /**
   * At most `bufferSize` bytes; an empty Buffer at end of stream (after handleClose()), or when
   * nothing has arrived yet (would block: the channel stays open).
   */
  recv(bufferSize: number): Buffer {
    checkInt(bufferSize, "bufferSize");
    const t = this._transportFor("recv");
    const r = t[kTryRecv](bufferSize, this.readAhead);
    if (t[kBuffered]() > 0) recheck(this);
    if (typeof r !== "number") {
      if (r.length === 0 && bufferSize > 0) this._endOfInput();  // a closed connection reads as empty
      return r;
    }
    // Nothing there yet (a spurious wake-up): empty, without handleClose(), and no Error built,
    // as send() gives 0. A caller tells it from the end of input by `connected`.
    if (isWouldBlock(r)) return EMPTY;
    const err = systemError(r, "recv");
    if (isDisconnect(r)) {
      this._closeFor(err);
      return EMPTY;
    }
    throw err;
  }

  /** Internal: the peer ended its input (recv() read nothing). Dispatcher: handleClose() now. */
  /** @internal */
  _endOfInput(): void {
    this.handleClose();
  }

  /** Internal: handleClose() because of `err` (a reset or an error), kept in closeError first. */
  /** @internal */
  _closeFor(err: unknown): void {
    this._setCloseError(err);
    this.handleClose();
  }

  /** Internal: records why the channel closes; the first cause is kept. */
  /** @internal */
  _setCloseError(err: unknown): void {
    if (this.closeError !== null) return;
    if (err instanceof Error) {
      this.closeError = err;
      return;
    }
    let text: string;
    try {
      text = String(err);
    } catch {
      text = "a value with no string form";
    }
    this.closeError = new Error(`a handler threw ${text}`, { cause: err });
  }

  close(): void {
    if (this._acceptPause !== null) {
      if (this._acceptPause.timer !== null) clearTimeout(this._acceptPause.timer);
      this._acceptPause = null;
    }
    this.connected = false;
    if (this.accepting) this.accepting = false;
    if (this.connecting) this.connecting = false;
    if (this._lookup !== null) this._lookup = null;
    if (this._lookupError !== null) this._lookupError = null;
    this.delChannel();
    if (this.socket !== null) {
      try {
        this.socket.close();
      } catch (err) {
        if (!isCloseIgnored(err)) throw err;
      }
    }
  }

  log(message: unknown): void {
    process.stderr.write(`log: ${String(message)}\n`);
  }

  logInfo(message: unknown, type = "info"): void {
    if (!this.ignoreLogTypes.has(type)) process.stdout.write(`${type}: ${String(message)}\n`);
  }

  handleReadEvent(): void {
    if (this.accepting) {
      // listening sockets never connect: they spawn connected ones
      this.handleAccept();
    } else if (!this.connected) {
      if (this.connecting) this.handleConnectEvent();
      this.handleRead();
    } else {
      this.handleRead();
    }
  }

  handleConnectEvent(): void {
    if (this._lookupError !== null) {
      const err = this._lookupError;
      this._lookupError = null;
      this._setCloseError(err);
      throw err;
    }
    const sock = this._socketFor("getsockopt");
    const err = sock.getsockopt(SOL_SOCKET, SO_ERROR);
    if (err !== 0) {
      const failed = this._connectError(err);
      this._setCloseError(failed);
      throw failed;
    }
    this.handleConnect();
    this.connected = true;
    this.connecting = false;
  }

  handleWriteEvent(): void {
    if (this.accepting) return;  // a listening socket cannot be written: ignore the event
    if (!this.connected && this.connecting) this.handleConnectEvent();
    this.handleWrite();
  }

  handleExptEvent(): void {
    // An exceptional condition is an error (close, as a read of nothing would) or OOB data.
    const err = this._pendingError();
    if (err !== 0) this._closeFor(this.connecting ? this._connectError(err) : systemError(err, "socket"));
    else this.handleExpt();
  }

  /**
   * A hang-up or error reported by the poller (POLL* bits in `revents`): with POLLERR the socket's
   * pending error (SO_ERROR) goes into closeError, POLLNVAL reads as EBADF; then handleClose().
   */
  handleCloseEvent(revents: number): void {
    if (revents & POLLERR) {
      const err = this._pendingError();
      this._setCloseError(err !== 0 ? (this.connecting ? this._connectError(err) : systemError(err, "socket")) : systemError(EIO, "poll", "(POLLERR)"));
    } else if (revents & POLLNVAL) {
      this._setCloseError(systemError(EBADF, "poll", "(POLLNVAL)"));
    }
    this.handleClose();
  }

  /** @internal A failed connect's error, with the address it went to. */
  _connectError(errno: number): Error {
    return systemError(errno, "connect", this._connectingTo === null ? undefined : errorLocation(this._connectingTo));
  }

  // SO_ERROR, which also clears it; 0 for a wrapped file or a socket that cannot tell.
  /** @internal */
  _pendingError(): number {
    const sock = this.socket;
    if (!(sock instanceof Socket) || sock.fileno() < 0) return 0;
    try {
      return sock.getsockopt(SOL_SOCKET, SO_ERROR);
    } catch {
      return 0;
    }
  }

  handleError(err: unknown): void {
    const [, name, message, info] = compactTraceback(err);
    let self: string;
    try {
      self = String(this);
    } catch {
      self = `<${this.constructor.name} (toString failed)>`;
    }
    this.logInfo(`uncaptured exception, closing channel ${self} (${name}:${message} ${info})`, "error");
    this._closeFor(err);
  }

  handleExpt(): void {
    this.logInfo("unhandled incoming priority event", "warning");
  }

  handleRead(): void {
    this.logInfo("unhandled read event", "warning");
  }

  handleWrite(): void {
    this.logInfo("unhandled write event", "warning");
  }

  // Idle timeout (see idle.ts): null (the default), or the record each pass checks.
  /** @internal */
  declare _idle: IdleRecord | null;
  /**
   * Seconds without a read or write event dispatched and without a send before handleTimeout()
   * is called (default null: none). Settable at any time; setting it starts the idle period anew.
   */
  get idleTimeout(): number | null {
    return getIdleTimeout(this);
  }
  set idleTimeout(seconds: number | null) {
    setIdleTimeout(this, seconds);
  }

  /** The channel was idle for idleTimeout seconds. Default: closeError = ETIMEDOUT, then handleClose(). */
  handleTimeout(): void {
    closeOnTimeout(this);
  }

  handleConnect(): void {
    this.logInfo("unhandled connect event", "warning");
  }

  /**
   * Takes the pending connections (up to 64 per event, so that a burst costs few passes and the
   * other channels still get theirs) and gives each to handleAccepted(); stops when none is
   * left, accepting pauses, or a handler stopped the listener.
   */
  handleAccept(): void {
    for (let i = 0; i < ACCEPT_BATCH; i++) {
      const pair = this.accept();
      if (pair === null) return;
      this.handleAccepted(pair[0], pair[1]);
      if (!this.accepting || this._isClosed()) return;
    }
  }

  handleAccepted(sock: Socket, _addr: Address): void {
    sock.close();
    this.logInfo("unhandled accepted event", "warning");
  }

  handleClose(): void {
    this.logInfo("unhandled close event", "warning");
    this.close();
  }

  /** Internal: true when the channel has no open socket (never had one, or it was closed). */
  /** @internal */
  _isClosed(): boolean {
    return this.socket === null || this.socket.fileno() < 0;
  }

  /** @internal */
  _transportFor(syscall: string): Transport {
    if (this.socket === null) throw systemError(EBADF, syscall, "(the dispatcher has no socket)");
    return this.socket;
  }

  /** @internal */
  _socketFor(syscall: string): Socket {
    const s = this._transportFor(syscall);
    if (!(s instanceof Socket)) throw new TypeError(`${syscall}() needs a socket, and this dispatcher wraps a file`);
    return s;
  }
}

Dispatcher.prototype.debug = false;
Dispatcher.prototype.accepting = false;
Dispatcher.prototype.connecting = false;
Dispatcher.prototype.closeError = null;
Dispatcher.prototype._map = socketMap;
Dispatcher.prototype._lookup = null;
Dispatcher.prototype._lookupError = null;
Dispatcher.prototype._acceptPause = null;
Dispatcher.prototype._idle = null;
Dispatcher.prototype._connectingTo = null;
Dispatcher.prototype.closing = false;
Dispatcher.prototype._ignoreLogTypes = null;
Dispatcher.prototype.tcpNoDelay = true;
Dispatcher.prototype.readAhead = 65536;

/** Connections waiting in a TCP listener's accept queue (Linux: TCP_INFO), or null when unknown. */
function waitingConnections(sock: Socket): number | null {
  if (TCP_INFO < 0 || sock.type !== SOCK_STREAM || (sock.family !== AF_INET && sock.family !== AF_INET6)) return null;
  try {
    return sock.getsockopt(IPPROTO_TCP, TCP_INFO, 104).readUInt32LE(24);  // tcpi_unacked: the accept queue's length
  } catch {
    return null;
  }
}
