// Called by Socket (its dispatcher fast path, kTryRecv) and by DispatcherWithSend (isReceived):
// one place owns the memory stream receives go into and the bytes read ahead of the application.
//
// Receives land in a shared slab and are handed out as views of it: no allocation or copy per
// read, and a part once handed out is never written again, so a dispatcher may queue it for
// sending without a defensive copy. A slab is replaced (not reused) when the next read might not
// fit; its memory goes when the last view of it does. (A reused hot buffer would need a copy out
// per read, and the copy lands in fresh memory again: measured no cheaper.)
//
// Read-ahead: recv(n) on a stream socket may take up to `want` > n bytes from the kernel in one
// system call; what the caller did not ask for stays in the socket's ReadAhead and the next
// receives hand it out first, in order, whichever method reads.
import { binding } from "./native.js";

const SLAB_SIZE = 1024 * 1024;
/** The most one receive takes: recv(2**31-1) must not allocate 2 GiB for the few bytes there. */
export const MAX_RECEIVE = SLAB_SIZE;

let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabMemory: ArrayBufferLike = slab.buffer;
let slabUsed = 0;
let previousSlab: ArrayBufferLike | null = null;
// The last part handed out and its memory: the echo idiom (send what recv gave) is then known
// without asking the part for its ArrayBuffer, which is a call into the runtime.
let lastHanded: Buffer | null = null;
let lastMemory: ArrayBufferLike = slabMemory;

/** Bytes a receive took from the kernel beyond what its caller asked for: buf[start, end). */
export class ReadAhead {
  buf: Buffer = slab;
  memory: ArrayBufferLike = slabMemory;
  start = 0;
  end = 0;

  get length(): number {
    return this.end - this.start;
  }

  /** The next `n` bytes (fewer when fewer are left); with `peek`, they stay. */
  take(n: number, peek = false): Buffer {
    const start = this.start;
    const end = n < this.end - start ? start + n : this.end;
    if (!peek) this.start = end;
    lastMemory = this.memory;
    return (lastHanded = this.buf.subarray(start, end));
  }
}

/**
 * Receives up to `want` bytes (want >= n) from stream or datagram socket `fd` and returns the
 * first n of them, or -errno; bytes past n go into `ahead` (which must be empty). An empty
 * Buffer is the end of the stream.
 */
export function receive(fd: number, n: number, want: number, ahead: ReadAhead | null): Buffer | number {
  if (slabUsed + want > slab.length) {
    previousSlab = slabMemory;
    slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, want));
    slabMemory = slab.buffer;
    slabUsed = 0;
  }
  const at = slabUsed;
  const r = binding.recvInto(fd, slab, at, want);
  if (r < 0) return r;
  slabUsed += (r + 7) & ~7;
  lastMemory = slabMemory;
  if (r > n && ahead !== null) {
    ahead.buf = slab;
    ahead.memory = slabMemory;
    ahead.start = at + n;
    ahead.end = at + r;
    return (lastHanded = slab.subarray(at, at + n));
  }
  return (lastHanded = slab.subarray(at, at + r));
}

/** True when `data` lies in memory a receive made (nothing else writes there). */
export function isReceived(data: Uint8Array): boolean {
  if (data === lastHanded) return true;
  const ab = data.buffer;
  return ab === slabMemory || ab === previousSlab;
}

/**
 * `tail` followed by `data` as one view, when `data` (received memory) starts where `tail` ends
 * in the same slab; null otherwise. Queued output then costs one iovec, not one per recv().
 */
export function joinReceived(tail: Buffer, data: Buffer): Buffer | null {
  const end = tail.byteOffset + tail.length;
  if (end !== data.byteOffset || data !== lastHanded) return null;
  const ab = lastMemory;
  if (tail.buffer !== ab) return null;
  return Buffer.from(ab, tail.byteOffset, tail.length + data.length);
}
