// Exported by index.ts (and wrapped by tls.ts): asyncore's dispatcher_with_send, a Dispatcher whose
// send() queues what the kernel does not take at once, here so that dispatcher.ts stays asyncore.py.
//
// Output queued during a pass goes out in one gather-write when the pass ends (pass.ts calls
// [kFlush]()); received memory is queued as it is (receive.ts), other data is copied once, and the
// pieces of one read-ahead that a handler sends one by one are queued as one range of its memory.
import { Dispatcher } from "./dispatcher.js";
import { type SocketMap, wake } from "./loop.js";
import { deferToPassEnd, inputFollows, kFlush, recheck, takeDeferred } from "./pass.js";
import { DEFAULT_OUTPUT_HIGH_WATER, MAX_DEFERRED, checkHighWater } from "./output-bound.js";
import { receivedMemory } from "./receive.js";
import { Socket, checkBytes, kTrySendv } from "./socket.js";

const EMPTY = Buffer.alloc(0);

// Received bytes queued as a range of their memory: consecutive pieces of one read-ahead (recv(8192)
// twelve times for a 100 KiB message) extend it instead of making a view each; it becomes one
// Buffer, one iovec, when the queue is sent or anything else is queued after it: only the last entry
// of a queue is ever one.
class ReceivedRun {
  constructor(readonly memory: ArrayBufferLike, readonly start: number, public end: number) {}
}

type Queue = (Buffer | ReceivedRun)[];

// The queue of every channel with nothing queued (an idle connection holds no array of its own);
// send() makes a real one before its first push.
const NO_QUEUE: Queue = [];

// Appends received `data` (in `memory`): it extends the last entry when it starts where that ends.
function queueReceived(queue: Queue, data: Uint8Array, memory: ArrayBufferLike): void {
  const at = data.byteOffset;
  const n = queue.length;
  if (n > 0) {
    const last = queue[n - 1]!;
    if (last instanceof ReceivedRun) {
      if (last.end === at && last.memory === memory) {
        last.end = at + data.length;
        return;
      }
    } else if (last.byteOffset + last.length === at && last.buffer === memory) {
      queue[n - 1] = new ReceivedRun(memory, last.byteOffset, at + data.length);
      return;
    }
  }
  sendable(queue).push(data instanceof Buffer ? data : Buffer.from(memory, at, data.length));
}

// The queue as Buffers, ready for a gather-write or another entry (a run at its end becomes one view).
function sendable(queue: Queue): Buffer[] {
  const n = queue.length;
  if (n === 0) return queue as Buffer[];
  const last = queue[n - 1]!;
  if (last instanceof ReceivedRun) queue[n - 1] = Buffer.from(last.memory, last.start, last.end - last.start);
  return queue as Buffer[];
}

/** A Dispatcher whose send() queues what the kernel does not take at once. */
export class DispatcherWithSend extends Dispatcher {
  // What is queued, as the chunks send() was given: one gather-write sends them all, and
  // outBuffer joins them only when someone looks.
  /** @internal */
  _queue: Queue = NO_QUEUE;
  /** @internal */
  _queued = 0;
  /** @internal */
  _flushPending = false;  // the current pass sends the queue when it ends (pass.ts)
  /** @internal */
  declare _highWater: number;
  /** @internal see inputFollows() in pass.ts */
  declare _aheadWhenDeferred: number;
  // "input": the peer ended its input while output was queued (handleClose() once it is sent);
  // "close": closeWhenDone() was called (close() once the queue is sent). Default null (prototype).
  /** @internal */
  declare _afterOutput: "input" | "close" | null;

  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map);
  }

  /**
   * The output bound in bytes (default 1 MiB; Infinity: none). While more than this is queued the
   * channel is not polled for reads (whatever readable() says), so a peer that sends and never
   * reads is held back by TCP instead of growing the queue; reads resume below it.
   */
  get outputHighWater(): number {
    return this._highWater;
  }

  set outputHighWater(bytes: number) {
    this._highWater = checkHighWater(bytes);
    recheck(this);
  }

  /** Stops reading, and closes the channel once everything queued has been sent. */
  closeWhenDone(): void {
    this._afterOutput = "close";
    recheck(this);
    if (this._queued === 0) this.close();
    else wake();
  }

  /** @internal */
  override _endOfInput(): void {
    // Python closes at once and drops the queue: the peer that half-closed gets its answer first.
    if (this._queued === 0 || this._isClosed()) {
      this.handleClose();
      return;
    }
    this._afterOutput ??= "input";
    recheck(this);
  }

  /** True while input is held back: output above the bound, or the channel waits to close. */
  /** @internal */
  override _holdsInput(): boolean {
    return this._afterOutput !== null || this._queued > this._highWater;
  }

  // After a send: the queue is empty and the channel was waiting for that.
  /** @internal */
  _afterSend(): void {
    const after = this._afterOutput;
    if (after === null || this._queued > 0 || this._flushPending || this._isClosed()) return;
    this._afterOutput = null;
    if (after === "close") this.close();
    else this.handleClose();
  }

  /** Everything queued and not yet taken by the kernel. */
  get outBuffer(): Buffer {
    const queue = sendable(this._queue);
    if (queue.length > 1) this._queue = [Buffer.concat(queue, this._queued)];
    return (this._queue[0] as Buffer | undefined) ?? EMPTY;
  }

  set outBuffer(data: Buffer) {
    checkBytes(data, "outBuffer");
    this._queue = data.length > 0 ? [data] : NO_QUEUE;
    this._queued = data.length;
    if (this._queued > this._highWater) recheck(this);
  }

  initiateSend(): void {
    if (this._queue.length === 0) return;
    const queue = sendable(this._queue);
    const t = this.socket;
    const n = queue.length > 1 && t instanceof Socket ? this._sent(t[kTrySendv](queue, queue.length)) : super.send(queue[0]!);
    this._consume(queue, n);
    this._afterSend();
  }

  // Drops the `n` bytes the kernel took from the front of `queue` (this._queue, made sendable).
  private _consume(queue: Buffer[], n: number): void {
    if (n <= 0) return;
    this._queued -= n;
    if (this._queued === 0) {
      this._queue = NO_QUEUE;  // all sent: an idle connection keeps no array
      return;
    }
    let i = 0;
    while (i < queue.length && n >= queue[i]!.length) n -= queue[i++]!.length;
    if (i < queue.length && n > 0) queue[i] = queue[i]!.subarray(n);
    if (i > 0) queue.splice(0, i);
  }

  override handleWrite(): void {
    this.initiateSend();
  }

  // Output the pass end will send is not counted: asking the kernel for writability on its behalf
  // would cost a system call each pass to change the mask, and the pass end sends it anyway.
  override writable(): boolean {
    return !this.connected || (this._queued > 0 && !this._flushPending);
  }

  /**
   * Queues `data` and sends what the kernel takes: at once from outside a pass, when the pass
   * ends from inside one (several sends in a pass become one system call).
   */
  override send(data: Uint8Array): number {
    checkBytes(data);
    if (this.debug) this.logInfo(`sending ${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1")}`);
    if (data.length === 0) return 0;
    // Queued data must not change under us if the caller reuses its buffer: copy, unless it is
    // memory a receive of ours made (nothing else writes there).
    let queue = this._queue;
    if (queue === NO_QUEUE) queue = this._queue = [];
    const memory = receivedMemory(data);
    if (memory !== null) queueReceived(queue, data, memory);
    else sendable(queue).push(Buffer.from(data));
    this._queued += data.length;
    if (this._queued > this._highWater) recheck(this);
    if (deferToPassEnd(this)) {
      if (this._queued > MAX_DEFERRED) this.initiateSend();
      return data.length;
    }
    this.initiateSend();
    if (this._queued > 0) wake();
    return data.length;
  }

  /** @internal */
  [kFlush](): boolean {
    // More input is already buffered: the next pass (which will not wait) sends both together.
    if (inputFollows(this, this._queued)) return false;
    this.initiateSend();
    return true;
  }

  /** Output queued during this pass is sent first, as it would have been at send() time. */
  override close(): void {
    if (takeDeferred(this) && !this._isClosed()) {
      try {
        this.initiateSend();
      } catch {
        // closing anyway: what the kernel did not take is dropped, as Python's close() drops out_buffer
      }
    }
    if (this._afterOutput !== null) this._afterOutput = null;
    super.close();
  }
}

// Defaults on the prototype: a connection holds them only once changed.
DispatcherWithSend.prototype._highWater = DEFAULT_OUTPUT_HIGH_WATER;
DispatcherWithSend.prototype._afterOutput = null;
DispatcherWithSend.prototype._aheadWhenDeferred = -1;
