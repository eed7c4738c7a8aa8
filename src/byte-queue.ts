// Used by AsyncChat and the port forwarder: one FIFO of byte chunks that a gather-write drains
// without joining them. (DispatcherWithSend keeps a plain array instead: an idle connection holds
// none, and the pieces of one read-ahead join there into one range; see dispatcher-with-send.ts.)
//
// Appending keeps the caller's chunk (no copy); chunks() lists the leading ones for one sendmsg;
// consume() drops what the kernel took, cutting the first remaining chunk where a write stopped.
// The chunks live in an array between a head and a tail index: draining a long queue stays
// linear, and a queue that empties starts again at slot 0 of the same array (an echo that queues
// one chunk per pass allocates nothing for the queue).

/** A FIFO of byte chunks, counted in bytes, drained from the front by gather-writes. */
export class ByteQueue<T extends Uint8Array = Buffer> {
  // Slots [#head, #tail) hold the chunks; the others are undefined (nothing kept alive).
  #chunks: (T | undefined)[] = [];
  #head = 0;
  #tail = 0;
  #bytes = 0;

  /** The bytes queued. */
  get length(): number {
    return this.#bytes;
  }

  /** The chunks queued. */
  get count(): number {
    return this.#tail - this.#head;
  }

  /** Appends `buf` as it is (not copied: the caller must not change it while it is queued). Empty chunks are not kept. */
  push(buf: T): void {
    if (buf.length === 0) return;
    const items = this.#chunks;
    if (this.#tail < items.length) items[this.#tail] = buf;
    else items.push(buf);
    this.#tail++;
    this.#bytes += buf.length;
  }

  /** The oldest chunk; undefined when the queue is empty. */
  first(): T | undefined {
    return this.#head < this.#tail ? this.#chunks[this.#head] : undefined;
  }

  /**
   * The leading chunks, at most `maxChunks` of them and `maxBytes` bytes in all (the last one cut
   * to fit), for one gather-write. A new array each time, made at its size: truncating a reused
   * one (length = 0) costs V8 a runtime call, more than a small allocation.
   */
  chunks(maxBytes = Infinity, maxChunks = Infinity): T[] {
    const items = this.#chunks;
    const head = this.#head;
    let end = head;
    let bytes = 0;
    while (end < this.#tail && end - head < maxChunks && bytes < maxBytes) bytes += items[end++]!.length;
    const list = new Array<T>(end - head);
    for (let i = head; i < end; i++) list[i - head] = items[i]!;
    if (bytes > maxBytes) list[end - head - 1] = items[end - 1]!.subarray(0, items[end - 1]!.length - (bytes - maxBytes)) as T;
    return list;
  }

  /** Drops the first `n` bytes (what a write took); more than `length` empties the queue. */
  consume(n: number): void {
    if (!(n > 0)) return;
    const items = this.#chunks;
    if (n >= this.#bytes) {
      for (let i = this.#head; i < this.#tail; i++) items[i] = undefined;
      this.#head = this.#tail = this.#bytes = 0;
      return;
    }
    this.#bytes -= n;
    let head = this.#head;
    for (;;) {
      const chunk = items[head]!;
      if (n < chunk.length) {
        items[head] = chunk.subarray(n) as T;
        break;
      }
      n -= chunk.length;
      items[head++] = undefined;  // let it be collected now
      if (n === 0) break;
    }
    this.#head = head;
    // Compact now and then, so that a queue that never empties does not grow without end.
    if (head >= 1024 && head * 2 >= this.#tail) {
      this.#chunks = items.slice(head, this.#tail);
      this.#tail -= head;
      this.#head = 0;
    }
  }

  /** Everything queued as one Buffer (joined once, and kept as the only chunk). */
  toBuffer(): Buffer {
    if (this.count === 0) return Buffer.alloc(0);
    if (this.count > 1) {
      const all = Buffer.concat(this.#chunks.slice(this.#head, this.#tail) as T[], this.#bytes);
      this.#chunks = [all as unknown as T];
      this.#head = 0;
      this.#tail = 1;
    }
    const only = this.#chunks[this.#head]!;
    return Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  }

  /** Empties the queue (and lets go of its array). */
  clear(): void {
    this.#chunks = [];
    this.#head = this.#tail = this.#bytes = 0;
  }
}
