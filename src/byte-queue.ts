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
  // Reused by chunks(): a gather-write per pass would otherwise allocate an array each time.
  readonly #list: T[] = [];

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
   * to fit), for one gather-write. The array is reused by the next call: use it before then.
   */
  chunks(maxBytes = Infinity, maxChunks = Infinity): T[] {
    const list = this.#list;
    list.length = 0;
    const items = this.#chunks;
    const end = items.length;
    let bytes = 0;
    for (let i = this.#head; i < end && list.length < maxChunks && bytes < maxBytes; i++) {
      let chunk = items[i]!;
      if (bytes + chunk.length > maxBytes) chunk = chunk.subarray(0, maxBytes - bytes) as T;
      list.push(chunk);
      bytes += chunk.length;
    }
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
    this.#list.length = 0;
  }
}
