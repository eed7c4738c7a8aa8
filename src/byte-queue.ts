// Used by the output paths that queue bytes for a socket (AsyncChat, the port forwarder, and
// DispatcherWithSend): one FIFO of byte chunks that a gather-write drains without joining them.
//
// Appending keeps the caller's chunk (no copy); chunks() lists the leading ones for one sendmsg;
// consume() drops what the kernel took, cutting the first remaining chunk where a write stopped.
// The chunks live in an array read from a moving head, so draining a long queue stays linear.

/** A FIFO of byte chunks, counted in bytes, drained from the front by gather-writes. */
export class ByteQueue<T extends Uint8Array = Buffer> {
  #chunks: (T | undefined)[] = [];
  #head = 0;
  #bytes = 0;

  /** The bytes queued. */
  get length(): number {
    return this.#bytes;
  }

  /** The chunks queued. */
  get count(): number {
    return this.#chunks.length - this.#head;
  }

  /** Appends `buf` as it is (not copied: the caller must not change it while it is queued). Empty chunks are not kept. */
  push(buf: T): void {
    if (buf.length === 0) return;
    this.#chunks.push(buf);
    this.#bytes += buf.length;
  }

  /** The oldest chunk; undefined when the queue is empty. */
  first(): T | undefined {
    return this.#chunks[this.#head];
  }

  /**
   * The leading chunks, at most `maxChunks` of them and `maxBytes` bytes in all (the last one cut
   * to fit), for one gather-write. A new array each time: truncating a reused one (length = 0)
   * costs V8 a runtime call, more than a small allocation.
   */
  chunks(maxBytes = Infinity, maxChunks = Infinity): T[] {
    const items = this.#chunks;
    const head = this.#head;
    // Count first, so that the array is made at its size (pushing would grow it).
    let end = head;
    let bytes = 0;
    while (end < items.length && end - head < maxChunks && bytes < maxBytes) bytes += items[end++]!.length;
    const list = new Array<T>(end - head);
    for (let i = head; i < end; i++) list[i - head] = items[i]!;
    if (bytes > maxBytes) list[end - head - 1] = items[end - 1]!.subarray(0, items[end - 1]!.length - (bytes - maxBytes)) as T;
    return list;
  }

  /** Drops the first `n` bytes (what a write took); more than `length` empties the queue. */
  consume(n: number): void {
    if (!(n > 0)) return;
    if (n >= this.#bytes) {
      this.clear();
      return;
    }
    this.#bytes -= n;
    const items = this.#chunks;
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
    if (head >= 1024 && head * 2 >= items.length) {
      this.#chunks = items.slice(head);
      this.#head = 0;
    }
  }

  /** Everything queued as one Buffer (joined once, and kept as the only chunk). */
  toBuffer(): Buffer {
    if (this.count === 0) return Buffer.alloc(0);
    if (this.count > 1) {
      const all = Buffer.concat(this.#chunks.slice(this.#head) as T[], this.#bytes);
      this.#chunks = [all as unknown as T];
      this.#head = 0;
    }
    const only = this.#chunks[this.#head]!;
    return Buffer.isBuffer(only) ? only : Buffer.from(only.buffer, only.byteOffset, only.byteLength);
  }

  /** Empties the queue. */
  clear(): void {
    this.#chunks = [];
    this.#head = 0;
    this.#bytes = 0;
  }
}
