// Called by Socket (recv, recvfrom, kTryRecv), FileWrapper (read, kTryRecv), DatagramDispatcher
// (recvfrom) and DispatcherWithSend (receivedMemory): the one place that owns receive memory and read-ahead.
//
// Every receive lands in memory made here: the addon's recvInto, recvfromInto and readInto fill a
// range of a Buffer they are given and allocate nothing. Receives go into a shared slab, which is
// replaced (never rewound) once the next receive might not fit; its memory goes when the last view
// of it does. The slab's room past `slabUsed` has never been handed out, so the kernel may write
// there (again and again while results are copied out of it); what lies before it is never written
// again.
//
// Two ways out of the slab:
// - Dispatcher stream receives (receive(), readView(): Dispatcher.recv() on a socket or a file) are
//   views of the slab: no allocation or copy per read, and a part once handed out is never written
//   again, so DispatcherWithSend queues it without a defensive copy. A small part kept for long keeps
//   its whole 1 MiB slab alive (docs/api.md says so and says to copy it): accepted, because the echo
//   idiom's cost is the point there. (A reused hot buffer would need a copy out per read, and the
//   copy lands in fresh memory again: measured no cheaper.)
// - Every other receive (receiveExact(), receiveFrom(): Socket.recv()/recvfrom() with any flags,
//   DatagramDispatcher.recvfrom(), FileWrapper.read()) copies a result under COPY_BELOW into a
//   Buffer of its own size (Node's 8 KiB pool below 4 KiB, as any small Buffer) and leaves its slab
//   room for the next receive; only a larger result is a view (so a kept result holds at most
//   SLAB_SIZE / COPY_BELOW = 32 times its size). Datagrams and one-off reads are kept (a table keyed
//   by a client's first datagram, a queue of requests) far more often than stream pieces, and a
//   60-byte datagram kept must not hold 1 MiB: the copy costs a few percent of a datagram's
//   receive, and memory use stays what it was when the addon copied.
//
// Read-ahead: a dispatcher's recv(n) on a stream socket may take up to `want` > n bytes from the
// kernel in one system call; what the caller did not ask for stays in the socket's ReadAhead and
// every later receive of that socket hands it out first, in order (takesAhead()).
import { MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL } from "./constants.js";
import { type RawAddress, binding } from "./native.js";

const SLAB_SIZE = 1024 * 1024;
/** The most one receive takes: recv(2**31-1) must not allocate 2 GiB for the few bytes there. */
export const MAX_RECEIVE = SLAB_SIZE;
/** recv(n, MSG_WAITALL) needs all n bytes of room up front: past this, RangeError. */
export const MAX_WAITALL = 64 * 1024 * 1024;
/** Exact receives copy results shorter than this out of the slab (see the header). */
const COPY_BELOW = 32 * 1024;

let slab: Buffer = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabMemory: ArrayBufferLike = slab.buffer;
let slabUsed = 0;
let previousSlab: ArrayBufferLike | null = null;
// The last part handed out and its memory: the echo idiom (send what recv gave) is then known
// without asking the part for its ArrayBuffer, which is a call into the runtime.
let lastHanded: Buffer | null = null;
let lastMemory: ArrayBufferLike = slabMemory;
// The sender of the last datagram receiveFrom() took (set by fill() for RECVFROM).
let lastSender: RawAddress = null;

/** Bytes a receive took from the kernel beyond what its caller asked for: memory[start, end). */
export class ReadAhead {
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
    return (lastHanded = Buffer.from(this.memory, start, end - start));
  }
}

// Flags of a receive that reads the stream itself, so read-ahead bytes come first. The rest
// (MSG_OOB, MSG_ERRQUEUE, ...) read something else and go to the kernel.
const STREAM_FLAGS = MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL | (binding.constants["MSG_TRUNC"] ?? 0);

/**
 * True when a receive with `flags` is served from `ahead` (bytes are waiting there). It hands out
 * at most what was read ahead: with MSG_WAITALL on a blocking socket, a short read.
 */
export function takesAhead(ahead: ReadAhead | null, flags: number): ahead is ReadAhead {
  return ahead !== null && ahead.end > ahead.start && (flags & ~STREAM_FLAGS) === 0;
}

// What fills the room: recv(2), recvfrom(2) (the sender goes to lastSender) or read(2).
const RECV = 0;
const RECVFROM = 1;
const READ = 2;
type Kind = typeof RECV | typeof RECVFROM | typeof READ;

function fill(kind: Kind, fd: number, buf: Buffer, at: number, room: number, flags: number): number {
  if (kind === RECV) return binding.recvInto(fd, buf, at, room, flags);
  if (kind === READ) return binding.readInto(fd, buf, at, room);
  const r = binding.recvfromInto(fd, buf, at, room, flags);
  if (typeof r === "number") return r;
  lastSender = r[1];
  return r[0];
}

/** Makes the slab's free room at least `room` bytes (room <= SLAB_SIZE). */
function reserve(room: number): void {
  if (slabUsed + room <= slab.length) return;
  previousSlab = slabMemory;
  slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
  slabMemory = slab.buffer;
  slabUsed = 0;
}

/** A view of the `r` bytes just received at slab[at]: the slab's room moves past them. */
function handOut(at: number, r: number): Buffer {
  slabUsed += (r + 7) & ~7;
  lastMemory = slabMemory;
  return (lastHanded = Buffer.from(slabMemory, at, r));
}

/**
 * Receives up to `want` bytes (n <= want <= MAX_RECEIVE) from stream or datagram socket `fd` and
 * returns the first n of them as a view of the slab, or -errno; bytes past n go into `ahead` (which
 * must be empty). An empty Buffer is the end of the stream.
 */
export function receive(fd: number, n: number, want: number, ahead: ReadAhead | null): Buffer | number {
  reserve(want);
  const at = slabUsed;
  const r = binding.recvInto(fd, slab, at, want, 0);
  if (r < 0) return r;
  if (r > n && ahead !== null) {
    slabUsed += (r + 7) & ~7;
    lastMemory = slabMemory;
    ahead.memory = slabMemory;
    ahead.start = at + n;
    ahead.end = at + r;
    return (lastHanded = Buffer.from(slabMemory, at, n));
  }
  return handOut(at, r);
}

/** read(2) of up to n bytes (n <= MAX_RECEIVE) from descriptor `fd`, as a view of the slab; or -errno. */
export function readView(fd: number, n: number): Buffer | number {
  reserve(n);
  const at = slabUsed;
  const r = binding.readInto(fd, slab, at, n);
  return r < 0 ? r : handOut(at, r);
}

/**
 * Room for a receive of at most n bytes: n itself up to MAX_RECEIVE; beyond it, no more than can
 * arrive now (what the kernel has queued, FIONREAD) or MAX_RECEIVE, whichever is more. So
 * recv(2**31-1) takes what is there in one call, not 2 GiB of memory. MSG_WAITALL must have all n.
 */
function roomFor(fd: number, n: number, flags: number): number {
  if (n <= MAX_RECEIVE) return n;
  if ((flags & MSG_WAITALL) !== 0) {
    if (n > MAX_WAITALL) throw new RangeError(`bufferSize ${n} is too large with MSG_WAITALL (at most ${MAX_WAITALL})`);
    return n;
  }
  return Math.min(n, Math.max(MAX_RECEIVE, binding.queued(fd)));  // -errno: MAX_RECEIVE
}

function exact(kind: Kind, fd: number, n: number, flags: number): Buffer | number {
  const room = roomFor(fd, n, flags);
  if (room > SLAB_SIZE) {
    // Larger than any slab: memory of its own, kept whole only when the receive filled most of it.
    const own = Buffer.allocUnsafeSlow(room);
    const r = fill(kind, fd, own, 0, room, flags);
    if (r < 0) return r;
    return r === room ? own : r > room / 2 ? own.subarray(0, r) : Buffer.from(own.subarray(0, r));
  }
  reserve(room);
  const at = slabUsed;
  const r = fill(kind, fd, slab, at, room, flags);
  if (r < 0) return r;
  if (r >= COPY_BELOW) return handOut(at, r);
  const copy = Buffer.allocUnsafe(r);
  slab.copy(copy, 0, at, at + r);
  return copy;
}

/**
 * One recv(2) of at most n bytes with `flags` (MSG_PEEK, MSG_OOB, MSG_TRUNC, ...) from `fd`, or
 * -errno. Read-ahead is the caller's to serve first (takesAhead()).
 */
export function receiveExact(fd: number, n: number, flags: number): Buffer | number {
  return exact(RECV, fd, n, flags);
}

/** One recvfrom(2) of at most n bytes with `flags`: the bytes and the sender's raw address, or -errno. */
export function receiveFrom(fd: number, n: number, flags: number): [Buffer, RawAddress] | number {
  const r = exact(RECVFROM, fd, n, flags);
  if (typeof r === "number") return r;
  const from = lastSender;
  lastSender = null;
  return [r, from];
}

/** One read(2) of at most n bytes from descriptor `fd` (a pipe, a terminal, a file), or -errno. */
export function readExact(fd: number, n: number): Buffer | number {
  return exact(READ, fd, n, 0);
}

/**
 * The memory (ArrayBuffer) of `data` when `data` lies in memory a receive made, where nothing else
 * writes: DispatcherWithSend then queues it without a copy. Null for any other memory.
 */
export function receivedMemory(data: Uint8Array): ArrayBufferLike | null {
  // The echo idiom sends what recv() just gave: known without asking for its ArrayBuffer (a call
  // into the runtime).
  if (data === lastHanded) return lastMemory;
  const ab = data.buffer;
  return ab === slabMemory || ab === previousSlab ? ab : null;
}
