// class Socket: a real non-blocking, close-on-exec BSD socket on a file descriptor, as Python's
// socket.socket is to asyncore. Failed calls throw Node-shaped system errors (src/errors.ts).
import { AF_INET, AF_INET6, AF_UNIX, MSG_PEEK, SOCK_STREAM, SOL_SOCKET, SO_ERROR } from "./constants.js";
import { type Address, errorLocation, fromRawAddress, localLocation, toNativeAddressSync } from "./address.js";
import { closedError, isWouldBlock, readAheadError, systemError, EBADF } from "./errors.js";
import { binding } from "./native.js";
import { MAX_RECEIVE, ReadAhead, receive, receiveExact, receiveFrom, takesAhead } from "./receive.js";
import { AcceptAhead, reserveDescriptorTable } from "./accept-ahead.js";
import { closeFd, forgetFd } from "./poller.js";
import type { NativeAddress } from "./native.js";

/** @internal Internal fast paths used by dispatchers: -errno instead of a thrown error. */
export const kTrySend = Symbol("asyncore.trySend");
/** @internal */
export const kTryRecv = Symbol("asyncore.tryRecv");
/** @internal send several buffers in one system call; bytes sent or -errno. */
export const kTrySendv = Symbol("asyncore.trySendv");
/** @internal bytes read ahead of the application and not yet handed out. */
export const kBuffered = Symbol("asyncore.buffered");
/** @internal accept() that returns -errno instead of throwing (a listener's would-block is routine). */
export const kTryAccept = Symbol("asyncore.tryAccept");
/** @internal connect to an already resolved native address; 0 or a positive errno. */
export const kConnectNative = Symbol("asyncore.connectNative");

/** What a dispatcher needs of its socket (Socket or FileWrapper). */
export interface Transport {
  fileno(): number;
  close(): void;
  /** @internal */
  [kTrySend](data: Uint8Array): number;
  /** @internal At most n bytes, reading up to `readAhead` from the kernel and keeping the rest. */
  [kTryRecv](n: number, readAhead?: number): Buffer | number;
  /** @internal */
  [kBuffered](): number;
}

// Small gathers are copied here and sent with one send() (see kTrySendv).
const SMALL_GATHER_PIECES = 8;
const SMALL_GATHER_BYTES = 4096;
const gatherBuffer = Buffer.allocUnsafeSlow(SMALL_GATHER_BYTES);

// A Socket collected while still open closes its descriptor and warns, as Python does.
const unclosed = new FinalizationRegistry<number>((fd) => {
  closeFd(fd);
  process.emitWarning(`unclosed socket fd=${fd}: a Socket was garbage-collected while open`, "ResourceWarning");
});

export function checkInt(value: unknown, what: string, min = 0, max = 0x7fffffff): number {
  if (typeof value !== "number") throw new TypeError(`${what} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer in ${min}..${max}, got ${value}`);
  }
  return value;
}

export function checkBytes(data: unknown, what = "data"): Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what} must be a Buffer or Uint8Array, got ${data === null ? "null" : typeof data}`);
  }
  return data;
}

function check(result: number, syscall: string): number {
  if (result < 0) throw systemError(result, syscall);
  return result;
}

export class Socket implements Transport {
  // The usual values (AF_INET, SOCK_STREAM, 0) are defaults on the prototype (below the class): a
  // socket holds its own only when it differs, so an accepted TCP/IPv4 connection carries none.
  declare readonly family: number;
  declare readonly type: number;
  declare readonly proto: number;
  #fd: number;
  // Stream bytes the kernel gave a dispatcher's read-ahead and the application has not read yet
  // (made on the first read-ahead). Every receive hands these out first, so reads stay in order
  // whichever method is used.
  #ahead: ReadAhead | null = null;
  // A listener's connections taken from the kernel ahead of accept() (made on a dispatcher's first
  // accept); accept() hands these out first.
  #acceptAhead: AcceptAhead | null = null;

  /** A new socket, or (with `fileno`) one that takes over an existing descriptor. */
  constructor(family: number = AF_INET, type: number = SOCK_STREAM, proto = 0, fileno: number | null = null) {
    checkInt(family, "family");
    checkInt(type, "type");
    checkInt(proto, "proto");
    if (family !== AF_INET) this.family = family;
    if (type !== SOCK_STREAM) this.type = type;
    if (proto !== 0) this.proto = proto;
    this.#fd = fileno === null ? check(binding.socket(family, type, proto), "socket") : checkInt(fileno, "fileno");
    unclosed.register(this, this.#fd, this);
  }

  #open(syscall: string): number {
    if (this.#fd < 0) throw closedError(syscall);
    return this.#fd;
  }

  fileno(): number {
    return this.#fd;
  }

  bind(address: Address): void {
    const fd = this.#open("bind");
    const native = toNativeAddressSync(this.family, address, true);
    const r = binding.bind(fd, ...native);
    if (r < 0) throw systemError(r, "bind", errorLocation(native));
  }

  listen(backlog = 128): void {
    const fd = this.#open("listen");
    check(binding.listen(fd, checkInt(backlog, "backlog", -0x80000000)), "listen");
    reserveDescriptorTable(fd);
  }

  /** A connection and its peer's address; throws code EAGAIN when none is pending. */
  accept(): [Socket, Address] {
    const r = this[kTryAccept]();
    if (typeof r === "number") throw systemError(r, "accept", isWouldBlock(r) ? undefined : localLocation(this));
    return r;
  }

  /**
   * @internal With `ahead` (a dispatcher's accept), what the kernel holds is taken into the
   * listener's AcceptAhead queue first (see accept-ahead.ts); a queue once made serves every accept().
   */
  [kTryAccept](ahead = false): [Socket, Address] | number {
    const fd = this.#open("accept");
    let queue = this.#acceptAhead;
    if (queue === null && ahead) queue = this.#acceptAhead = new AcceptAhead(this);
    const r = queue === null ? binding.accept(fd) : queue.take(fd);
    if (typeof r === "number") return r;
    const sock = new Socket(this.family, this.type, this.proto, r[0]);
    const raw = r[1];
    // Clients mostly come from few hosts: the same host string is shared, not kept once per connection.
    if (Array.isArray(raw)) {
      if (raw[0] === lastPeerHost) raw[0] = lastPeerHost;
      else lastPeerHost = raw[0];
    }
    const peer = fromRawAddress(raw);
    accepted = sock;
    acceptedPeer = peer;
    return [sock, peer];
  }

  /** Starts connecting; a non-blocking socket throws code EINPROGRESS, as Python's does. */
  connect(address: Address): void {
    const err = this.connectEx(address);
    if (err !== 0) throw systemError(err, "connect", errorLocation(toNativeAddressSync(this.family, address)));
  }

  /** 0 or a positive errno (EINPROGRESS while a non-blocking connect goes on). */
  connectEx(address: Address): number {
    return this[kConnectNative](toNativeAddressSync(this.family, address));
  }

  /** @internal */
  [kConnectNative](native: NativeAddress): number {
    const r = binding.connect(this.#open("connect"), ...native);
    return r < 0 ? -r : 0;
  }

  send(data: Uint8Array, flags = 0): number {
    return check(binding.send(this.#open("send"), checkBytes(data), checkInt(flags, "flags")), "send");
  }

  sendall(data: Uint8Array, flags = 0): void {
    let view = checkBytes(data);
    while (view.length > 0) view = view.subarray(this.send(view, flags));
  }

  sendto(data: Uint8Array, address: Address): number {
    const fd = this.#open("sendto");
    const bytes = checkBytes(data);
    const native = toNativeAddressSync(this.family, address);
    const r = binding.sendto(fd, bytes, 0, ...native);
    if (r < 0) throw systemError(r, "sendto", errorLocation(native));
    return r;
  }

  recv(bufferSize: number, flags = 0): Buffer {
    const fd = this.#open("recv");
    checkInt(bufferSize, "bufferSize");
    checkInt(flags, "flags");
    if (takesAhead(this.#ahead, flags)) return this.#ahead.take(bufferSize, (flags & MSG_PEEK) !== 0);
    const r = receiveExact(fd, bufferSize, flags);
    if (typeof r === "number") throw systemError(r, "recv");
    return r;
  }

  recvfrom(bufferSize: number, flags = 0): [Buffer, Address] {
    const fd = this.#open("recvfrom");
    checkInt(bufferSize, "bufferSize");
    checkInt(flags, "flags");
    if (takesAhead(this.#ahead, flags)) return [this.#ahead.take(bufferSize, (flags & MSG_PEEK) !== 0), this.getpeername()];
    const r = receiveFrom(fd, bufferSize, flags);
    if (typeof r === "number") throw systemError(r, "recvfrom");
    return [r[0], fromRawAddress(r[1])];
  }

  getsockname(): Address {
    const r = binding.getsockname(this.#open("getsockname"));
    if (typeof r === "number") throw systemError(r, "getsockname");
    return fromRawAddress(r);
  }

  getpeername(): Address {
    const r = binding.getpeername(this.#open("getpeername"));
    if (typeof r === "number") throw systemError(r, "getpeername");
    return fromRawAddress(r);
  }

  /** An integer option; with `buflen`, the option's raw bytes. */
  getsockopt(level: number, option: number): number;
  getsockopt(level: number, option: number, buflen: number): Buffer;
  getsockopt(level: number, option: number, buflen?: number): number | Buffer {
    const fd = this.#open("getsockopt");
    const r = binding.getsockopt(fd, checkInt(level, "level"), checkInt(option, "option"),
      buflen === undefined ? undefined : checkInt(buflen, "buflen", 1, 1024));
    if (typeof r === "number") throw systemError(r, "getsockopt");
    return Buffer.isBuffer(r) ? r : r[0];
  }

  setsockopt(level: number, option: number, value: number | boolean | Uint8Array): void {
    const fd = this.#open("setsockopt");
    if (typeof value === "number") checkInt(value, "value", -0x80000000);
    else if (typeof value !== "boolean") checkBytes(value, "value");
    check(binding.setsockopt(fd, checkInt(level, "level"), checkInt(option, "option"), value), "setsockopt");
  }

  setblocking(flag: boolean): void {
    if (typeof flag !== "boolean") throw new TypeError("flag must be a boolean");
    if (this === accepted) {
      if (!flag) return;  // non-blocking from birth (accept4 with SOCK_NONBLOCK)
      accepted = null;
    }
    check(binding.setBlocking(this.#open("setblocking"), flag), "fcntl");
  }

  /** 0 when non-blocking, null when blocking (these sockets have no timeouts of their own). */
  gettimeout(): number | null {
    return check(binding.fdFlags(this.#open("fcntl")), "fcntl") & 1 ? 0 : null;
  }

  /** False: close-on-exec is set, as on every socket made here. */
  getInheritable(): boolean {
    return (check(binding.fdFlags(this.#open("fcntl")), "fcntl") & 2) === 0;
  }

  /** The socket's pending error (SO_ERROR), cleared by reading it: 0 when none. */
  pendingError(): number {
    return this.getsockopt(SOL_SOCKET, SO_ERROR);
  }

  shutdown(how: number): void {
    check(binding.shutdown(this.#open("shutdown"), checkInt(how, "how", 0, 2)), "shutdown");
  }

  /** Closes the descriptor; closing twice is harmless. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;  // first, so that nothing can use the number once the kernel reuses it
    this.#ahead = null;
    this.#acceptAhead?.closeAll();
    this.#acceptAhead = null;
    unclosed.unregister(this);
    check(closeFd(fd), "close");
  }

  /**
   * Gives up the descriptor without closing it; the Socket is closed from then on. The poller
   * stops watching it: whoever takes the number over (or a new descriptor that reuses it once it
   * is closed elsewhere) starts from no registration.
   */
  detach(): number {
    const fd = this.#fd;
    if (fd < 0) return fd;
    // What was taken from the kernel ahead of the application cannot be given back to it.
    const held = this[kBuffered]();
    if (held > 0) throw readAheadError(held, this.#acceptAhead !== null ? "connection" : "byte");
    this.#fd = -1;
    this.#ahead = null;
    unclosed.unregister(this);
    forgetFd(fd);
    return fd;
  }

  /** @internal */
  [kTrySend](data: Uint8Array): number {
    return this.#fd < 0 ? -EBADF : binding.send(this.#fd, data, 0);
  }

  /** @internal */
  [kTryRecv](n: number, readAhead = 0): Buffer | number {
    if (this.#fd < 0) return -EBADF;
    let ahead = this.#ahead;
    if (ahead !== null && ahead.end > ahead.start) return ahead.take(n);
    // Read ahead only on stream sockets: on datagram sockets a larger read changes nothing but
    // whether a truncated message is noticed.
    if (readAhead > n && this.type === SOCK_STREAM) {
      ahead ??= this.#ahead = new ReadAhead();
      return receive(this.#fd, n, Math.min(readAhead, MAX_RECEIVE), ahead);
    }
    return receive(this.#fd, n, Math.min(n, MAX_RECEIVE), null);
  }

  /** @internal */
  [kBuffered](): number {
    const ahead = this.#ahead;
    if (ahead !== null) return ahead.end - ahead.start;
    const queue = this.#acceptAhead;
    return queue === null ? 0 : queue.length;
  }

  /** @internal */
  [kTrySendv](buffers: readonly Uint8Array[], count: number): number {
    if (this.#fd < 0) return -EBADF;
    // A few small pieces (a line and its terminator) cost less copied into one hot buffer and sent
    // than read one by one from the array by the addon: 580 vs 715 ns for 1023 + 1 bytes here.
    if (count <= SMALL_GATHER_PIECES) {
      let total = 0;
      for (let i = 0; i < count; i++) total += buffers[i]!.length;
      if (total <= SMALL_GATHER_BYTES) {
        let at = 0;
        for (let i = 0; i < count; i++) {
          gatherBuffer.set(buffers[i]!, at);
          at += buffers[i]!.length;
        }
        return binding.send(this.#fd, gatherBuffer.subarray(0, total), 0);
      }
    }
    return binding.sendv(this.#fd, buffers, count);
  }

  toString(): string {
    const kind = this.family === AF_INET ? "AF_INET" : this.family === AF_INET6 ? "AF_INET6" : this.family === AF_UNIX ? "AF_UNIX" : this.family;
    return `<Socket fd=${this.#fd} family=${kind} type=${this.type}>`;
  }
}

(Socket.prototype as { family: number }).family = AF_INET;
(Socket.prototype as { type: number }).type = SOCK_STREAM;
(Socket.prototype as { proto: number }).proto = 0;

// The socket the last accept() made and its peer's address: a dispatcher made for it at once (the
// usual handleAccepted()) takes both from here instead of a getpeername() and two fcntl() calls.
// Nothing per connection is kept: only the latest, dropped once taken or when its mode changes.
let accepted: Socket | null = null;
let acceptedPeer: Address | null = null;
let lastPeerHost = "";

/** The peer address of `sock` when it is the socket the last accept() made and is still non-blocking and open; else null. Once. */
export function takeAcceptedPeer(sock: Socket): Address | null {
  if (sock !== accepted) return null;
  accepted = null;
  const peer = acceptedPeer;
  acceptedPeer = null;
  return sock.fileno() < 0 ? null : peer;
}

/** A connected pair of sockets (AF_UNIX by default). */
export function socketpair(family: number = AF_UNIX, type: number = SOCK_STREAM, proto = 0): [Socket, Socket] {
  const r = binding.socketpair(checkInt(family, "family"), checkInt(type, "type"), checkInt(proto, "proto"));
  if (typeof r === "number") throw systemError(r, "socketpair");
  return [new Socket(family, type, proto, r[0]), new Socket(family, type, proto, r[1])];
}
