// Used by src/splice-relay.ts (`asyncore forward` without TLS, on Linux). A kernel pipe between two
// sockets, filled and drained with splice(2): the bytes never enter user space, their count does;
// and the pool that lends empty pipes to the directions that have bytes to move.
import { binding } from "./native.js";
import { readExact } from "./receive.js";
import { errnoOf, isOutOfResources, isWouldBlock, systemError } from "./errors.js";

/** True where splice(2) can be tried: Linux, with an addon that has it (elsewhere its calls return ENOSYS). */
export const spliceAvailable: boolean =
  process.platform === "linux" && typeof binding.splice === "function" && typeof binding.pipe === "function";

// A read of what a pipe holds, for a direction that stops splicing (see takeAll()).
const TAKE_CHUNK = 64 * 1024;

/**
 * A non-blocking, close-on-exec pipe holding at most `capacity` bytes, with the count of what it
 * holds. Its descriptors are never polled: whoever fills or drains it knows what it holds.
 */
export class SplicePipe {
  readonly readFd: number;
  readonly writeFd: number;
  /** Bytes it may hold: the bound asked for, or the kernel's capacity when that is less. */
  readonly capacity: number;
  /** Bytes in the pipe now. */
  length = 0;
  /**
   * The kernel took no more although `length` < capacity: a pipe holds a number of pieces, not
   * of bytes, and many small ones (tiny TCP segments) fill it early. Cleared by the next drain.
   */
  full = false;
  #closed = false;

  /**
   * A new pipe for at most `limit` bytes: its capacity is raised towards `limit` (F_SETPIPE_SZ)
   * where the kernel allows it (refused above /proc/sys/fs/pipe-max-size, or once the user's
   * pipe pages are used up: the pipe keeps its default size then). Throws a system error when no
   * pipe can be made (EMFILE, ENFILE: descriptors are short; ENOSYS: not Linux).
   */
  static open(limit: number): SplicePipe {
    const r = binding.pipe(limit);
    if (typeof r === "number") throw systemError(r, "pipe");
    return new SplicePipe(r[0], r[1], Math.min(r[2], limit));
  }

  private constructor(readFd: number, writeFd: number, capacity: number) {
    this.readFd = readFd;
    this.writeFd = writeFd;
    this.capacity = capacity;
  }

  /** True while more can be spliced in. */
  hasRoom(): boolean {
    return !this.full && this.length < this.capacity;
  }

  /**
   * Moves what `fd` has (at most the room left) into the pipe: bytes moved, 0 at the end of the
   * stream, or -errno (EAGAIN: nothing there yet, or the pipe has no free piece left).
   */
  fillFrom(fd: number): number {
    const r = binding.splice(fd, this.writeFd, this.capacity - this.length, 0);
    if (r > 0) this.length += r;
    else if (r < 0 && this.length > 0 && isWouldBlock(r)) this.full = true;  // the reader drains it, then reading resumes
    return r;
  }

  /** Moves what the pipe holds to `fd` (a socket): bytes moved (0 when empty), or -errno (EAGAIN: `fd` is full). */
  drainTo(fd: number): number {
    if (this.length === 0) return 0;
    const r = binding.splice(this.readFd, fd, this.length, 0);
    if (r > 0) {
      this.length -= r;
      this.full = false;
    }
    return r;
  }

  /** Reads out everything the pipe holds (through user space) and empties it. */
  takeAll(): Buffer[] {
    const chunks: Buffer[] = [];
    while (this.length > 0) {
      const r = readExact(this.readFd, Math.min(this.length, TAKE_CHUNK));
      if (typeof r === "number" || r.length === 0) break;  // cannot happen while `length` is right
      chunks.push(r);
      this.length -= r.length;
    }
    this.length = 0;
    this.full = false;
    return chunks;
  }

  /** Closes both ends; what it held is dropped. A second call does nothing. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.length = 0;
    binding.close(this.readFd);
    binding.close(this.writeFd);
  }

  get closed(): boolean {
    return this.#closed;
  }
}

/**
 * Empty pipes lent to the directions of a forwarder's connections: a direction takes one when it
 * has bytes to move and gives it back once they are all out, so an idle connection holds none and
 * a busy one holds them only while its bytes are in flight (descriptors, and the pipe pages an
 * unprivileged user may have, are not spent on connections that wait). Up to `keep` empty pipes
 * wait for the next taker; all of them close when the last channel using the pool closes.
 */
export class PipePool {
  readonly #free: SplicePipe[] = [];
  #users = 0;
  #unavailable = false;

  /** `limit`: the most bytes a pipe may hold; `keep`: how many empty pipes to keep open. */
  constructor(readonly limit: number, readonly keep = 16) {}

  /**
   * An empty pipe, or null when none can be had now (EMFILE, ENFILE, ENOMEM: the caller copies
   * this time) or at all (no pipes or splice here: every later call returns null at once).
   */
  take(): SplicePipe | null {
    const pipe = this.#free.pop();
    if (pipe !== undefined) return pipe;
    if (this.#unavailable) return null;
    try {
      return SplicePipe.open(this.limit);
    } catch (err) {
      if (!isOutOfResources(errnoOf(err))) this.#unavailable = true;
      return null;
    }
  }

  /** Takes back a pipe: kept when empty and there is room among the free ones, closed otherwise. */
  give(pipe: SplicePipe): void {
    if (pipe.length === 0 && !pipe.closed && this.#users > 0 && this.#free.length < this.keep) this.#free.push(pipe);
    else pipe.close();
  }

  /** A channel starts using the pool. */
  attach(): void {
    this.#users++;
  }

  /** A channel is done with the pool; the last one closes the pipes it keeps. */
  detach(): void {
    if (this.#users > 0 && --this.#users === 0) this.clear();
  }

  /** Closes the empty pipes kept. */
  clear(): void {
    for (const pipe of this.#free.splice(0)) pipe.close();
  }

  /** Empty pipes kept open now. */
  get free(): number {
    return this.#free.length;
  }
}
