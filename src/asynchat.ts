// The `asyncore/asynchat` entry point, also the base of TLSAsyncChat, the SMTP session and the example
// HTTP server: AsyncChat, Python's asynchat, a Dispatcher for command/response protocols.
//
// Input is cut at a terminator (a byte string, a byte count, or nothing) and handed to
// collectIncomingData() / foundTerminator(); output is a queue of byte strings and producers sent
// as the socket takes them. The behaviour follows Python 3.11's asynchat.py; where it differs,
// the comment next to the code says why (docs/asynchat.md lists the differences).
// The .d.ts use Node's types (Buffer, AbortSignal): this makes a consumer with `types: []` load them.
/// <reference types="node" preserve="true" />
import { type SocketMap, wake } from "./loop.js";
import { deferToPassEnd, inputFollows, kFlush, recheck, takeDeferred } from "./pass.js";
import { DEFAULT_OUTPUT_HIGH_WATER, Dispatcher, MAX_DEFERRED, checkHighWater } from "./dispatcher.js";
import { Socket, checkBytes, kTrySendv } from "./socket.js";
import { ByteQueue } from "./byte-queue.js";
import { isWouldBlock } from "./errors.js";

/** What ends a unit of input: a string (encoded with `encoding`), bytes, a byte count, or null (none). */
export type Terminator = string | Uint8Array | number | null;

/** A source of outgoing data: more() returns the next piece; an empty result means exhausted. */
export interface Producer {
  more(): Uint8Array;
}

const EMPTY = Buffer.alloc(0);
/** Queued byte strings one gather-write takes at most (Linux's IOV_MAX is 1024). */
const MAX_GATHER = 64;
/** Gather-writes the pass end's flush makes at most while the kernel takes everything. */
const MAX_WRITES = 16;

function isProducer(x: unknown): x is Producer {
  return typeof x === "object" && x !== null && typeof (x as { more?: unknown }).more === "function";
}

/** A failed system call (Python's OSError): it has a string `code` such as "ECONNRESET". */
function isSystemError(err: unknown): boolean {
  return typeof err === "object" && err !== null && typeof (err as { code?: unknown }).code === "string";
}

type Entry = Uint8Array | Producer | null;

/**
 * The outgoing queue: byte strings, producers, and null (close here), in order. The leading byte
 * strings (everything before the first producer or close mark) sit in a ByteQueue, which one
 * gather-write drains without joining them; the entries from the first producer on wait in a
 * plain deque and move to the ByteQueue as they come to the front. Empty byte strings are not kept
 * (they send nothing, as Python's push(b"") queues nothing).
 */
export class ProducerFifo {
  readonly #front = new ByteQueue<Uint8Array>();
  // From the first producer or close mark on: #rest[#restHead..].
  #rest: (Entry | undefined)[] = [];
  #restHead = 0;
  #restBytes = 0;

  /** Entries queued. */
  get length(): number {
    return this.#front.count + this.#rest.length - this.#restHead;
  }

  /** The bytes queued as byte strings (what producers will make is not known yet, and not counted). */
  get bytes(): number {
    return this.#front.length + this.#restBytes;
  }

  /** Bytes at the front that one gather-write may take (0: a producer or close mark is first). */
  get frontBytes(): number {
    return this.#front.length;
  }

  /** The first entry; only meaningful when length > 0. */
  first(): Entry {
    return this.#front.count > 0 ? this.#front.first()! : (this.#rest[this.#restHead] as Entry);
  }

  /** The entry `i` places from the first; only meaningful when i < length. */
  at(i: number): Entry {
    const n = this.#front.count;
    return i < n ? this.#front.chunks()[i]! : (this.#rest[this.#restHead + i - n] as Entry);
  }

  /** Replaces the first entry (only meaningful when length > 0; an empty byte string just removes it). */
  setFirst(entry: Entry): void {
    this.shift();
    this.unshift(entry);
  }

  push(entry: Entry): void {
    if (entry instanceof Uint8Array) {
      if (entry.length === 0) return;
      if (this.#rest.length === this.#restHead) {
        this.#front.push(entry);
        return;
      }
      this.#restBytes += entry.length;
    }
    this.#rest.push(entry);
  }

  /** Puts `entry` in front of everything (a producer's next piece goes before the producer). */
  unshift(entry: Entry): void {
    if (entry instanceof Uint8Array) {
      if (entry.length === 0) return;
      if (this.#front.count === 0) {
        this.#front.push(entry);
        return;
      }
    }
    // In front of queued byte strings: they go back to the deque behind it (rare: never on the send path).
    const front = this.#front.chunks();
    this.#front.clear();
    for (let i = front.length - 1; i >= 0; i--) this.#restUnshift(front[i]!);
    this.#restUnshift(entry);
    this.#refill();
  }

  /** Removes and returns the first entry (undefined when empty). */
  shift(): Entry | undefined {
    const front = this.#front;
    if (front.count > 0) {
      const first = front.first()!;
      front.consume(first.length);
      if (front.count === 0) this.#refill();
      return first;
    }
    if (this.#rest.length === this.#restHead) return undefined;
    const entry = this.#rest[this.#restHead] as Entry;
    this.#rest[this.#restHead++] = undefined;  // let it be collected now
    if (entry instanceof Uint8Array) this.#restBytes -= entry.length;
    if (this.#restHead === this.#rest.length) {
      this.#rest = [];
      this.#restHead = 0;
    }
    this.#refill();
    return entry;
  }

  /** The front byte strings for one gather-write: at most maxChunks of them and maxBytes bytes. */
  gather(maxBytes: number, maxChunks: number): Uint8Array[] {
    return this.#front.chunks(maxBytes, maxChunks);
  }

  /** Drops `n` bytes a write took from the front byte strings. */
  consume(n: number): void {
    this.#front.consume(n);
    if (this.#front.count === 0) this.#refill();
  }

  clear(): void {
    this.#front.clear();
    this.#rest = [];
    this.#restHead = 0;
    this.#restBytes = 0;
  }

  /** The entries, first to last. */
  toArray(): Entry[] {
    return [...this.#front.chunks(), ...(this.#rest.slice(this.#restHead) as Entry[])];
  }

  #restUnshift(entry: Entry): void {
    if (entry instanceof Uint8Array) this.#restBytes += entry.length;
    if (this.#restHead > 0) this.#rest[--this.#restHead] = entry;
    else this.#rest.unshift(entry);
  }

  // The front ran empty: the byte strings now leading the deque move to it.
  #refill(): void {
    const rest = this.#rest;
    while (this.#restHead < rest.length) {
      const entry = rest[this.#restHead];
      if (!(entry instanceof Uint8Array)) return;
      rest[this.#restHead++] = undefined;
      this.#restBytes -= entry.length;
      this.#front.push(entry);
    }
    if (rest.length !== 0) {
      this.#rest = [];
      this.#restHead = 0;
    }
  }
}

/**
 * How many bytes at the end of haystack[from..] are a proper prefix of `needle` (the longest such
 * prefix). The caller has already checked that the whole needle does not occur.
 */
function prefixAtEnd(haystack: Uint8Array, from: number, needle: Uint8Array): number {
  const end = haystack.length;
  for (let l = Math.min(needle.length - 1, end - from); l > 0; l--) {
    let i = 0;
    const start = end - l;
    while (i < l && haystack[start + i] === needle[i]) i++;
    if (i === l) return l;
  }
  return 0;
}

/**
 * Given `haystack`, how many characters (or bytes) at its end are a prefix of `needle`:
 * findPrefixAtEnd("qwerty\r", "\r\n") is 1, findPrefixAtEnd("qwertydkjf", "\r\n") is 0.
 * Assumes the whole needle was already searched for; both arguments strings, or both bytes.
 */
export function findPrefixAtEnd(haystack: Uint8Array | string, needle: Uint8Array | string): number {
  if (typeof haystack === "string" && typeof needle === "string") {
    for (let l = needle.length - 1; l > 0; l--) if (haystack.endsWith(needle.slice(0, l))) return l;
    return 0;
  }
  if (haystack instanceof Uint8Array && needle instanceof Uint8Array) return prefixAtEnd(haystack, 0, needle);
  throw new TypeError("findPrefixAtEnd() takes two strings or two byte arrays");
}

/**
 * A Dispatcher for chat-style protocols. Subclasses implement collectIncomingData() (a piece of
 * input) and foundTerminator() (the terminator was seen), choose the terminator with
 * setTerminator(), and send with push() / pushWithProducer().
 */
export class AsyncChat extends Dispatcher {
  /** Bytes asked of each recv(). */
  acInBufferSize = 65536;
  /** Bytes given to each send(); larger pushes are split into pieces of this size. */
  acOutBufferSize = 65536;
  /** When true, a string from a producer (or given to pushWithProducer) is encoded with `encoding`. */
  useEncoding = false;
  encoding: BufferEncoding = "latin1";
  /**
   * The most bytes collectIncomingData() may receive between two terminators while a string or
   * byte terminator is in effect; past it the channel logs one error line and closes. null (the
   * default, as in Python): no limit.
   */
  maxInputCollected: number | null = null;

  /** @internal The terminator as set (a string stays a string unless useEncoding is on, as in Python). */
  _terminator: Terminator = null;
  /** The outgoing queue: byte strings, producers, and null for "close here". */
  _producerFifo = new ProducerFifo();
  /** @internal Pieces kept by _collectIncomingData() until _getData() joins them. */
  _incoming: Buffer[] = [];

  // Received input not yet handed out: #inBuf from #inPos on. Between reads it holds at most a
  // proper prefix of the terminator (the start of a terminator split across two reads).
  #inBuf: Buffer = EMPTY;
  #inPos = 0;
  // Bytes collected since the last terminator, for maxInputCollected.
  #collected = 0;
  // The last string terminator and its encoding, so that each read does not encode it again.
  #termString: string | null = null;
  #termEncoding: BufferEncoding | null = null;
  #termBytes: Buffer = EMPTY;
  #highWater = DEFAULT_OUTPUT_HIGH_WATER;
  // The peer ended its input while output was queued: handleClose() once the queue is sent.
  #inputEnded = false;
  // push() in a pass queues, and the pass end sends the pass's output in one gather-write (pass.ts).
  /** @internal */
  _flushPending = false;
  /** @internal see inputFollows() in pass.ts (default on the prototype) */
  declare _aheadWhenDeferred: number;

  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map);
  }

  /**
   * The output bound in bytes (default 1 MiB; Infinity: none), counting the byte strings queued
   * (producers count once they have produced). Above it the channel is not polled for reads,
   * whatever readable() says; below it reads resume.
   */
  get outputHighWater(): number {
    return this.#highWater;
  }

  set outputHighWater(bytes: number) {
    this.#highWater = checkHighWater(bytes);
    recheck(this);
  }

  /** @internal */
  override _endOfInput(): void {
    // Python closes at once and drops the queue: the peer that half-closed gets its answer first.
    if (this._producerFifo.length === 0) {
      this.handleClose();
      return;
    }
    this.#inputEnded = true;
    recheck(this);
  }

  /** @internal True while input is held back: output above the bound, or the input ended. */
  override _holdsInput(): boolean {
    return this.#inputEnded || this._producerFifo.bytes > this.#highWater;
  }

  /** Output pushed during this pass is sent first, as push() would have sent it at once. */
  override close(): void {
    if (takeDeferred(this)) {
      // Only bytes pushed this pass are owed here: a close mark or producer waits for no close().
      const first = this._producerFifo.length > 0 ? this._producerFifo.first() : null;
      if (!this._isClosed() && first instanceof Uint8Array && first.length > 0) {
        try {
          this.#sendFirst(1);
        } catch {
          // closing anyway: what the kernel did not take is dropped, as Python's close() drops the queue
        }
      }
    }
    this.#inputEnded = false;
    super.close();
  }

  /** Called with each piece of input before the terminator; to be overridden. */
  collectIncomingData(_data: Buffer): void {
    throw new Error("collectIncomingData() must be implemented in a subclass");
  }

  /** Called when the terminator has been seen; to be overridden. */
  foundTerminator(): void {
    throw new Error("foundTerminator() must be implemented in a subclass");
  }

  /** Python's _collect_incoming_data: keeps `data` for _getData(). */
  _collectIncomingData(data: Buffer): void {
    this._incoming.push(data);
  }

  /** Python's _get_data: everything kept since the last call, joined once. */
  _getData(): Buffer {
    const parts = this._incoming;
    this._incoming = [];
    if (parts.length === 0) return EMPTY;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  /**
   * A string or bytes (input is cut after it), a non-negative integer (input is cut after that
   * many bytes, counted across reads), or null (all input goes to collectIncomingData()).
   * 0 and an empty string behave as null, as in Python.
   */
  setTerminator(term: Terminator): void {
    if (typeof term === "number") {
      if (!Number.isInteger(term) || term < 0) {
        throw new RangeError(`the terminator must be a non-negative integer number of bytes, got ${term}`);
      }
    } else if (typeof term === "string") {
      if (this.useEncoding) term = Buffer.from(term, this.encoding);
    } else if (term !== null && !(term instanceof Uint8Array)) {
      throw new TypeError(`the terminator must be a string, a Uint8Array, a number or null, got ${typeof term}`);
    }
    this._terminator = term;
    this.#collected = 0;  // a new terminator starts a new count for maxInputCollected
  }

  getTerminator(): Terminator {
    return this._terminator;
  }

  /** The terminator in the form the reader uses: bytes, a positive count, or null (pass through). */
  #current(): Uint8Array | number | null {
    const term = this.getTerminator();
    if (term === null || term === undefined) return null;
    if (typeof term === "number") {
      if (!Number.isInteger(term) || term < 0) throw new RangeError(`bad terminator ${term}`);
      return term === 0 ? null : term;
    }
    if (typeof term === "string") {
      if (term.length === 0) return null;
      if (term !== this.#termString || this.encoding !== this.#termEncoding) {
        this.#termBytes = Buffer.from(term, this.encoding);
        this.#termString = term;
        this.#termEncoding = this.encoding;
      }
      return this.#termBytes;
    }
    if (term instanceof Uint8Array) return term.length === 0 ? null : term;
    throw new TypeError(`bad terminator of type ${typeof term}`);
  }

  override handleRead(): void {
    let data: Buffer;
    try {
      data = this.recv(this.acInBufferSize);
    } catch (err) {
      if (isWouldBlock(err)) return;  // a spurious wake-up (Python issue 16133): nothing to read yet
      if (!isSystemError(err)) throw err;
      this.handleError(err);
      return;
    }
    if (data.length === 0) return;
    // Only a few bytes (a split terminator) can be left from the last read: joining is cheap.
    this.#inBuf = this.#inPos < this.#inBuf.length ? Buffer.concat([this.#inBuf.subarray(this.#inPos), data]) : data;
    this.#inPos = 0;
    this.#process();
  }

  // Hands #inBuf out, terminator by terminator. State is updated before each call into the
  // subclass, so a handler that changes the terminator, discards the buffers or closes the
  // channel sees (and leaves) a consistent state. Pieces are views of the received Buffer.
  #process(): void {
    while (this.#inPos < this.#inBuf.length) {
      const buf = this.#inBuf;
      const pos = this.#inPos;
      const term = this.#current();
      if (term === null) {
        // No terminator: everything goes through, and none of it counts towards the limit.
        this.#release();
        this.#collected = 0;
        this.collectIncomingData(buf.subarray(pos));
      } else if (typeof term === "number") {
        const left = buf.length - pos;
        if (left < term) {
          this.#release();
          this._terminator = term - left;
          this.collectIncomingData(buf.subarray(pos));
        } else {
          this.#inPos = pos + term;
          this._terminator = 0;
          this.collectIncomingData(buf.subarray(pos, pos + term));
          this.#collected = 0;
          this.foundTerminator();
        }
      } else {
        // A one-byte terminator ("\n") is searched as a number: Buffer skips the needle's checks.
        const index = term.length === 1 ? buf.indexOf(term[0]!, pos) : buf.indexOf(term, pos);
        if (index !== -1) {
          this.#inPos = index + term.length;
          // An empty piece is not reported (Python: a source of subtle bugs).
          if (index > pos && !this.#collect(buf.subarray(pos, index))) return;
          this.#collected = 0;
          this.foundTerminator();
        } else {
          const held = prefixAtEnd(buf, pos, term);
          if (held > 0) {
            // The end may be the start of a terminator: keep it (copied: it is small, the read is not).
            const cut = buf.length - held;
            this.#inBuf = Buffer.from(buf.subarray(cut));
            this.#inPos = 0;
            if (cut > pos) this.#collect(buf.subarray(pos, cut));
            return;
          }
          this.#release();
          this.#collect(buf.subarray(pos));
        }
      }
    }
    this.#release();
  }

  #release(): void {
    this.#inBuf = EMPTY;
    this.#inPos = 0;
  }

  /** collectIncomingData() under maxInputCollected; false when the limit closed the channel. */
  #collect(piece: Buffer): boolean {
    const max = this.maxInputCollected;
    if (max !== null && max !== undefined) {
      if (typeof max !== "number" || !(max >= 0)) throw new RangeError(`maxInputCollected must be null or a non-negative number, got ${String(max)}`);
      if (this.#collected + piece.length > max) {
        this.#overflow(max);
        return false;
      }
      this.#collected += piece.length;
    }
    this.collectIncomingData(piece);
    return true;
  }

  #overflow(max: number): void {
    let peer: string;
    const addr = this.addr;
    if (addr === null) peer = "an unknown peer";
    else if (typeof addr === "string") peer = JSON.stringify(addr);
    else peer = addr[0].includes(":") ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
    this.logInfo(
      `input limit exceeded: ${peer} sent more than ${max} bytes without a terminator (maxInputCollected); closing ${String(this)}`,
      "error",
    );
    this.#release();
    this._incoming = [];
    this.#collected = 0;
    this.handleClose();
    // A handleClose() that forgets to close must not leave a channel that goes on reading.
    if (this.fileno() !== null) this.close();
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  override handleClose(): void {
    this.close();
  }

  /**
   * Queues `data` (split into acOutBufferSize pieces) and sends what the socket takes: at once
   * from outside a pass, when the pass ends from inside one (a pass's pushes become one system call).
   */
  push(data: Uint8Array): void {
    checkBytes(data);
    const size = this.#outSize();
    if (data.length > size) {
      for (let i = 0; i < data.length; i += size) this._producerFifo.push(data.subarray(i, i + size));
    } else {
      this._producerFifo.push(data);
    }
    if (this._producerFifo.bytes <= MAX_DEFERRED && deferToPassEnd(this)) {
      if (this._producerFifo.bytes > this.#highWater) recheck(this);
      return;
    }
    this.initiateSend();
    this.#wakeIfQueued();
  }

  /** @internal */
  [kFlush](): boolean {
    // More input is already buffered: the next pass (which will not wait) answers it too, and
    // both answers go out together.
    if (inputFollows(this, this._producerFifo.bytes)) return false;
    // The pass's output in as few system calls as the kernel allows: a 100 KiB answer is not
    // left for a later pass in acOutBufferSize pieces.
    this.#sendFirst(MAX_WRITES);
    this.#closeIfAnswered();
    return true;
  }

  /** Queues a producer (or bytes): its more() is called as the socket can take data. */
  pushWithProducer(producer: Producer | Uint8Array): void {
    if (typeof producer === "string" && this.useEncoding) producer = Buffer.from(producer, this.encoding);
    if (!(producer instanceof Uint8Array) && !isProducer(producer)) {
      throw new TypeError("pushWithProducer() takes a Uint8Array or an object with a more() method");
    }
    this._producerFifo.push(producer);
    this.initiateSend();
    this.#wakeIfQueued();
  }

  override readable(): boolean {
    // True: the terminator may change at any time, so a subclass's state never holds input back.
    // (The output bound and the end of input hold it back below readable(): see outputHighWater.)
    return true;
  }

  // Output the pass end will send is not counted: asking the kernel for writability on its behalf
  // would cost a system call each pass to change the mask, and the pass end sends it anyway.
  override writable(): boolean {
    return (this._producerFifo.length > 0 && !this._flushPending) || !this.connected;
  }

  /** Closes the channel once everything queued before this call has been sent. */
  closeWhenDone(): void {
    this._producerFifo.push(null);
    wake();  // called from a timer, a waiting pass must see that there is something to do
  }

  /**
   * Sends the first queued data the socket will take (at most acOutBufferSize bytes per call); once
   * the queue is empty after the peer ended its input, handleClose().
   */
  initiateSend(): void {
    this.#sendFirst(1);
    this.#closeIfAnswered();
  }

  // The peer ended its input while output was queued: once that is sent, handleClose().
  #closeIfAnswered(): void {
    if (this.#inputEnded && this._producerFifo.length === 0 && this.fileno() !== null) {
      this.#inputEnded = false;
      this.handleClose();
    }
  }

  // `writes`: how many gather-writes may follow one another while the kernel takes everything
  // (initiateSend() makes one, as Python's does; the pass end's flush may make more).
  #sendFirst(writes: number): void {
    const fifo = this._producerFifo;
    while (fifo.length > 0 && this.connected) {
      if (fifo.frontBytes === 0) {
        const first = fifo.first();
        if (first === null) {
          fifo.shift();
          this.handleClose();
          return;
        }
        // A producer: its next piece goes in front of it; an empty piece means it is exhausted.
        const piece = this.#fromProducer(first as Producer);
        if (piece.length > 0) fifo.unshift(piece);
        else fifo.shift();
        continue;
      }
      const size = this.#outSize();
      // Several queued byte strings go out in one gather-write, unless send() is a subclass's
      // own (then each piece goes through it, as in Python).
      const sock = this.socket;
      const first = fifo.first() as Uint8Array;
      if (first.length < fifo.frontBytes && sock instanceof Socket && this.send === Dispatcher.prototype.send) {
        this.#sendGathered(sock, size, writes);
        return;
      }
      const data = first.length > size ? first.subarray(0, size) : first;
      let sent: number;
      try {
        sent = this.send(data);
      } catch (err) {
        if (!isSystemError(err)) throw err;
        this.handleError(err);
        return;
      }
      // The channel may have closed in send() (a disconnect): its queue is then moot.
      if (sent > 0 && fifo.length > 0 && fifo.first() === first) fifo.consume(sent);
      return;
    }
  }

  // The leading byte strings of the queue (up to a producer or a close mark), acOutBufferSize
  // bytes and MAX_GATHER pieces per sendmsg; what was sent leaves the queue. While the kernel takes
  // all it is given, up to `writes` gathers follow one another.
  #sendGathered(sock: Socket, size: number, writes: number): void {
    const fifo = this._producerFifo;
    for (let w = 0; w < writes && fifo.frontBytes > 0; w++) {
      const list = fifo.gather(size, MAX_GATHER);
      let sent: number;
      try {
        sent = this._sent(sock[kTrySendv](list, list.length));
      } catch (err) {
        if (!isSystemError(err)) throw err;
        this.handleError(err);
        return;
      }
      // The channel may have closed in the send (a disconnect): its queue is then moot.
      if (sent <= 0 || this.socket !== sock || sock.fileno() < 0) return;
      fifo.consume(sent);
      let given = 0;
      for (let i = 0; i < list.length; i++) given += list[i]!.length;
      if (sent < given) return;  // the kernel's buffer is full: the rest goes when writable
    }
  }

  #fromProducer(producer: Producer): Uint8Array {
    const piece: unknown = producer.more();
    if (piece instanceof Uint8Array) return piece;
    if (piece === null || piece === undefined) return EMPTY;
    if (typeof piece === "string" && this.useEncoding) return Buffer.from(piece, this.encoding);
    throw new TypeError(`a producer's more() must return a Uint8Array, got ${typeof piece}`);
  }

  #outSize(): number {
    const size = this.acOutBufferSize;
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`acOutBufferSize must be a positive integer, got ${size}`);
    return size;
  }

  #wakeIfQueued(): void {
    if (this._producerFifo.bytes > this.#highWater) recheck(this);
    // From outside a handler (a timer), a pass waiting with writable() false must look again.
    if (this._producerFifo.length > 0) wake();
  }

  /** Drops all pending input and output (emergencies only, as Python says). */
  discardBuffers(): void {
    this.#release();
    this._incoming = [];
    this.#collected = 0;
    this._producerFifo.clear();
  }
}

// Defaults on the prototype: a channel holds them only once changed.
AsyncChat.prototype._aheadWhenDeferred = -1;

/** A producer over a byte string, handing it out `bufferSize` bytes at a time. */
export class SimpleProducer implements Producer {
  #data: Uint8Array;
  #bufferSize: number;

  constructor(data: Uint8Array, bufferSize = 512) {
    checkBytes(data);
    if (typeof bufferSize !== "number") throw new TypeError(`bufferSize must be a number, got ${typeof bufferSize}`);
    if (!Number.isInteger(bufferSize) || bufferSize < 1) throw new RangeError(`bufferSize must be a positive integer, got ${bufferSize}`);
    this.#data = data;
    this.#bufferSize = bufferSize;
  }

  more(): Uint8Array {
    const data = this.#data;
    if (data.length > this.#bufferSize) {
      this.#data = data.subarray(this.#bufferSize);
      return data.subarray(0, this.#bufferSize);
    }
    this.#data = data.subarray(data.length);
    return data;
  }
}
