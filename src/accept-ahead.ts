// Called by Socket (listen(), and its dispatcher fast path kTryAccept): what keeps a burst of new
// connections from overflowing the listen backlog while JavaScript builds a channel for each one.
//
// The kernel queues at most `backlog` (net.core.somaxconn, 4096 by default) finished handshakes per
// listener and drops further SYNs; a dropped client waits a second before it tries again. Building
// a dispatcher costs far more than accept4() itself (ten times more while the code is still cold),
// so a dispatcher's accept() first moves what the kernel holds into this queue, one accept4() per
// connection and nothing else, then hands out one connection. Nothing is observable but earlier
// descriptor numbers: connections still come out one per accept(), in the kernel's order.
//
// And the descriptor table: in a multi-threaded process (Node always is) the kernel waits for an
// RCU grace period whenever the process's descriptor table doubles, 5-20 ms each at 256, 512, ...,
// 8192 descriptors here; in a burst that is time no connection is accepted. The first listen()
// grows the table once, before any burst (reserveDescriptorTable).
import { binding } from "./native.js";
import type { RawAddress } from "./native.js";
import { closeFd } from "./poller.js";
import { EWOULDBLOCK, isWouldBlock } from "./errors.js";

/** The most connections held ahead of the application per listener: the kernel's own default limit. */
const MAX_AHEAD = 4096;
/** Connections handed out between two drains while the queue is not empty. */
const DRAIN_EVERY = 8;
/** Descriptors kept free beyond twice the connections held (see #drain). */
const FD_RESERVE = 16;
/** Descriptors the table is grown to by the first listen() (bounded by RLIMIT_NOFILE): 512 KiB of kernel memory. */
const DESCRIPTOR_TABLE = 65536;
let tableReserved = false;

/** Grows this process's descriptor table once, the first time a socket (`fd`) listens. Best effort. */
export function reserveDescriptorTable(fd: number): void {
  if (tableReserved) return;
  tableReserved = true;
  binding.reserveFds(fd, DESCRIPTOR_TABLE);
}

// A listener garbage-collected while open: the connections it held ahead are closed with it.
const orphaned = new FinalizationRegistry<AcceptAhead>((queue) => queue.closeAll());

export class AcceptAhead {
  // The addon's accept() results as they came ([fd, peer]): handed out as they are.
  #items: [number, RawAddress][] = [];
  #head = 0;
  #sinceDrain = 0;
  // The last drain ended because the kernel had nothing more: the accept() that empties the queue
  // is then answered "would block" without asking the kernel again (once; the next one asks).
  #kernelEmpty = false;

  /** Made for `owner` (a listening Socket): its queued connections are closed if it is collected open. */
  constructor(owner: object) {
    orphaned.register(owner, this, this);
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  /**
   * The next connection as accept() gives it ([fd, raw peer] or -errno): first takes what the
   * kernel has queued when this queue is empty or a batch has been handed out since the last
   * drain, then hands out the oldest.
   */
  take(fd: number): [number, RawAddress] | number {
    if (this.length === 0 && this.#kernelEmpty) {
      this.#kernelEmpty = false;
      return -EWOULDBLOCK;
    }
    if (this.length === 0 || this.#sinceDrain >= DRAIN_EVERY) {
      const r = this.#drain(fd);
      if (this.length === 0) return r;  // nothing taken: r is the kernel's -errno
    }
    this.#sinceDrain++;
    const i = this.#head++;
    const out = this.#items[i]!;
    this.#items[i] = undefined as unknown as [number, RawAddress];  // not kept once handed out
    if (this.#head === this.#items.length) this.#reset();
    return out;
  }

  // Accepts until the kernel has none left, MAX_AHEAD are held, or descriptors run short. The
  // -errno that ended it, which the caller reports only when nothing was taken: an error after the
  // first connection concerns the next accept() anyway, which sees it again from the kernel.
  //
  // Descriptors: a connection waiting in the kernel's queue holds none, one held here holds one,
  // and serving it may need more (a forwarder's remote connection, a file). So at least twice as
  // many descriptors as are held stay free below RLIMIT_NOFILE (plus a reserve): held connections
  // can never take the descriptors their own service needs. Near the limit, one at a time.
  #drain(fd: number): number {
    this.#sinceDrain = 0;
    if (this.#head > 0 && this.#head * 2 >= this.#items.length) this.#compact();
    let room = -1;  // descriptors that can be opened above number 0 (RLIMIT_NOFILE - 1), read once per drain
    while (this.length < MAX_AHEAD) {
      const r = binding.accept(fd);
      if (typeof r === "number") {
        this.#kernelEmpty = isWouldBlock(r);
        return r;
      }
      this.#items.push(r);
      if (room < 0) room = binding.fdHeadroom(0);
      // Descriptors are numbered lowest free first: at most room - nfd more can be opened.
      if (room - r[0] < 2 * this.length + FD_RESERVE) break;
    }
    return 0;
  }

  #compact(): void {
    this.#items.splice(0, this.#head);
    this.#head = 0;
  }

  #reset(): void {
    this.#items.length = 0;
    this.#head = 0;
  }

  /** Closes every connection still held (the listener is closing): their clients see the end. */
  closeAll(): void {
    orphaned.unregister(this);
    for (let i = this.#head; i < this.#items.length; i++) closeFd(this.#items[i]![0]);
    this.#reset();
  }
}
