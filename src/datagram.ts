// Exported by index.ts, used by examples/udp-echo*.ts and `asyncore udp-echo`: DatagramDispatcher, a
// Dispatcher over a datagram socket (UDP, AF_UNIX SOCK_DGRAM), where Dispatcher's calls assume a stream.
//
// A datagram socket has no stream: each recvfrom() is one whole message and its sender, a message
// of 0 bytes is a message (not the end of anything), and a send either takes the whole datagram
// or none of it. So receiving never calls handleClose() for an empty read, a message longer than
// the receive size is reported instead of cut short in silence, and a send the kernel refuses for
// now (a full buffer) is queued whole, in order, up to a bound.
import { AF_INET, SOCK_DGRAM } from "./constants.js";
import { type Address, errorLocation, fromRawAddress, toNativeAddressSync } from "./address.js";
import { DEFAULT_OUTPUT_HIGH_WATER, Dispatcher, checkHighWater } from "./dispatcher.js";
import { EBADF, isDatagramBufferFull, isDatagramPeerGone, isWouldBlock, systemError } from "./errors.js";
import { touchIdle } from "./idle.js";
import { wake } from "./loop.js";
import { recheck } from "./pass.js";
import { type NativeAddress, binding } from "./native.js";
import { receiveFrom } from "./receive.js";
import { Socket, checkBytes, checkInt } from "./socket.js";

/**
 * The largest datagram a UDP socket can carry: 65,535 bytes less the 8-byte UDP header (the IPv6
 * limit: 65,527), less the 20-byte IPv4 header over IPv4 (65,507). The default receive size.
 */
export const MAX_UDP_PAYLOAD = 65527;
/** The largest UDP payload over IPv4. */
export const MAX_UDP_PAYLOAD_IPV4 = 65507;
/** Datagrams handleRead() takes per readable event: a burst costs few passes, other channels still get theirs. */
const RECEIVE_BATCH = 32;
/** At most this many datagrams wait in the queue, whatever their size (0-byte ones included). */
export const MAX_QUEUED_DATAGRAMS = 4096;

const EMPTY = Buffer.alloc(0);

/** One datagram waiting to be sent: its bytes and where to (null: the connected peer). */
interface Outgoing {
  data: Buffer;
  to: NativeAddress | null;
}

export class DatagramDispatcher extends Dispatcher {
  /**
   * The largest datagram recvfrom() takes by default (default MAX_UDP_PAYLOAD, enough for any UDP
   * datagram); a longer one goes to handleOversized() and is not handed out.
   */
  maxDatagram = MAX_UDP_PAYLOAD;
  /** Datagrams sendto() refused because the queue was full (see outputHighWater). */
  droppedDatagrams = 0;
  /** @internal */
  _out: Outgoing[] = [];
  /** @internal */
  _outBytes = 0;
  #highWater = DEFAULT_OUTPUT_HIGH_WATER;

  /**
   * The queue's bound in bytes (default 1 MiB; Infinity: no bound in bytes). While the queue holds this much
   * (or MAX_QUEUED_DATAGRAMS datagrams) sendto() refuses new datagrams, and the channel is not
   * polled for reads, so an echo service stops taking requests it could not answer.
   */
  get outputHighWater(): number {
    return this.#highWater;
  }

  set outputHighWater(bytes: number) {
    this.#highWater = checkHighWater(bytes);
    recheck(this);
  }

  /** Datagrams queued and not yet sent. */
  get queuedDatagrams(): number {
    return this._out.length;
  }

  /** Bytes queued and not yet sent. */
  get queuedBytes(): number {
    return this._outBytes;
  }

  /** A datagram socket by default (SOCK_DGRAM over AF_INET). */
  override createSocket(family: number = AF_INET, type: number = SOCK_DGRAM): void {
    super.createSocket(family, type);
  }

  /** True while the queue is at its bound. */
  isFull(): boolean {
    return this._outBytes >= this.#highWater || this._out.length >= MAX_QUEUED_DATAGRAMS;
  }

  /** @internal */
  override _holdsInput(): boolean {
    return this.isFull();
  }

  /** Polled for writing only while datagrams wait: an idle datagram socket is always writable. */
  override writable(): boolean {
    return this._out.length > 0;
  }

  /**
   * The next datagram and its sender, or null when none is waiting. A datagram longer than
   * `bufferSize` (default maxDatagram) is not handed out cut short: handleOversized() is told and
   * the next one is read. On a connected socket an error the peer caused (ECONNREFUSED after an
   * ICMP port unreachable, ...) closes the channel (closeError, handleClose()) and gives null.
   */
  recvfrom(bufferSize: number = this.maxDatagram): [Buffer, Address] | null {
    checkInt(bufferSize, "bufferSize");
    for (;;) {
      const fd = this.#fd("recvfrom");
      // One byte more than asked: a datagram that fills it was longer than bufferSize.
      const r = receiveFrom(fd, bufferSize + 1, 0);
      if (typeof r === "number") {
        if (isWouldBlock(r)) return null;
        const err = systemError(r, "recvfrom");
        if (!isDatagramPeerGone(r)) throw err;
        this._closeFor(err);
        return null;
      }
      const from = fromRawAddress(r[1]);
      if (r[0].length <= bufferSize) return [r[0], from];
      this.handleOversized(from, bufferSize);
      if (this._isClosed()) return null;
    }
  }

  /**
   * The next datagram's bytes without its sender (recvfrom() without the address): an empty
   * Buffer when none waits or for a 0-byte datagram; never handleClose() for an empty read.
   */
  override recv(bufferSize: number = this.maxDatagram): Buffer {
    return this.recvfrom(bufferSize)?.[0] ?? EMPTY;
  }

  /**
   * Sends one datagram to `address` (omitted: the connected peer). True when the kernel took it
   * or it was queued behind others (sent, in order, when the socket is writable); false when the
   * queue is full and the datagram was dropped (counted in droppedDatagrams). A datagram too
   * long for the socket throws EMSGSIZE; an address of the wrong shape throws TypeError/RangeError.
   */
  sendto(data: Uint8Array, address?: Address): boolean {
    checkBytes(data);
    const fd = this.#fd("sendto");
    const to = address === undefined ? null : toNativeAddressSync((this.socket as Socket).family, address);
    if (this._out.length === 0) {
      const r = send(fd, data, to);
      if (r >= 0) {
        if (this._idle !== null) touchIdle(this._idle);  // sending is activity (idle timeout)
        return true;
      }
      if (!isDatagramBufferFull(r)) return this.#failed(r, to);
    }
    if (this.isFull()) {
      this.droppedDatagrams++;
      return false;
    }
    // Copied: the caller may reuse its buffer before the queue is sent.
    this._out.push({ data: Buffer.from(data), to });
    this._outBytes += data.length;
    if (this.isFull()) recheck(this);
    wake();
    return true;
  }

  /** sendto() to the connected peer: the datagram's length when sent or queued, 0 when dropped. */
  override send(data: Uint8Array): number {
    return this.sendto(data) ? data.length : 0;
  }

  /** Sends queued datagrams, in order, until the kernel refuses one for now. */
  initiateSend(): void {
    const out = this._out;
    let i = 0;
    while (i < out.length) {
      const { data, to } = out[i]!;
      const r = send(this.#fd("sendto"), data, to);
      if (r < 0 && isDatagramBufferFull(r)) break;
      i++;
      this._outBytes -= data.length;
      if (r < 0) {
        out.splice(0, i);
        this.#failed(r, to);
        return;
      }
    }
    if (i > 0) out.splice(0, i);
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  /** Reads up to 32 waiting datagrams and gives each to handleDatagram(). */
  override handleRead(): void {
    for (let i = 0; i < RECEIVE_BATCH && !this.isFull(); i++) {
      const got = this.recvfrom();
      if (got === null) return;
      this.handleDatagram(got[0], got[1]);
      if (this._isClosed()) return;
    }
  }

  /** One datagram (possibly empty) from `address`. */
  handleDatagram(_data: Buffer, _address: Address): void {
    this.logInfo("unhandled datagram", "warning");
  }

  /** A datagram from `address` was longer than `limit` bytes; it was discarded. Default: one "error" log line. */
  handleOversized(address: Address, limit: number): void {
    const from = typeof address === "string" ? JSON.stringify(address) : `${address[0]}:${address[1]}`;
    this.logInfo(`datagram from ${from} longer than ${limit} bytes discarded (see maxDatagram)`, "error");
  }

  /** What was queued is dropped, as a datagram socket's close drops what it has not sent. */
  override close(): void {
    this._out = [];
    this._outBytes = 0;
    super.close();
  }

  // A failed send that is not "try later": the peer refused (connected socket) closes, the rest is thrown.
  #failed(r: number, to: NativeAddress | null): false {
    const err = systemError(r, "sendto", to === null ? undefined : errorLocation(to));
    if (!isDatagramPeerGone(r)) throw err;
    this._closeFor(err);
    return false;
  }

  #fd(syscall: string): number {
    if (this._isClosed()) throw systemError(EBADF, syscall, "(the dispatcher has no socket)");
    return this._socketFor(syscall).fileno();
  }
}

function send(fd: number, data: Uint8Array, to: NativeAddress | null): number {
  return to === null ? binding.send(fd, data, 0) : binding.sendto(fd, data, 0, ...to);
}
