// AsyncChat's API without a loop: defaults, terminators and their checks, the input side driven
// through a faked recv(), push()/pushWithProducer() queueing on an unconnected channel,
// SimpleProducer, the Python helpers _collectIncomingData()/_getData(), and the package entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncChat, ProducerFifo, SimpleProducer, type Terminator, findPrefixAtEnd } from "../src/asynchat.js";
import { Dispatcher } from "../src/index.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Records what the input side reports; recv() returns the queued reads. */
class Fed extends AsyncChat {
  events: string[] = [];
  reads: Buffer[] = [];
  override recv(): Buffer {
    return this.reads.shift() ?? Buffer.alloc(0);
  }
  override collectIncomingData(data: Buffer): void {
    this.events.push(`data ${data.toString("latin1")}`);
  }
  override foundTerminator(): void {
    this.events.push("found");
  }
  feed(...chunks: (string | Buffer)[]): string[] {
    for (const c of chunks) {
      this.reads.push(typeof c === "string" ? b(c) : c);
      this.handleRead();
    }
    const out = this.events;
    this.events = [];
    return out;
  }
}

test("defaults are Python's", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();
  assert.equal(chat.acInBufferSize, 65536);
  assert.equal(chat.acOutBufferSize, 65536);
  assert.equal(chat.useEncoding, false);
  assert.equal(chat.encoding, "latin1");
  assert.equal(chat.maxInputCollected, null);
  assert.equal(chat.getTerminator(), null);
  assert.equal(chat.readable(), true);
  assert.equal(chat.writable(), true, "an unconnected channel is writable (to see its connect complete)");
  assert.ok(chat instanceof Dispatcher);
});

test("collectIncomingData and foundTerminator must be overridden", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();
  assert.throws(() => chat.collectIncomingData(b("x")), /must be implemented in a subclass/);
  assert.throws(() => chat.foundTerminator(), /must be implemented in a subclass/);
});

test("setTerminator accepts strings, bytes, non-negative integers and null; refuses the rest", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();
  const good: Terminator[] = ["\r\n", b("\r\n"), new Uint8Array([0]), 0, 5, 2 ** 40, null, ""];
  for (const t of good) {
    chat.setTerminator(t);
    assert.equal(chat.getTerminator(), t, "getTerminator() returns what was set");
  }
  for (const t of [-1, -0.5, 1.5, Number.NaN, Infinity]) assert.throws(() => chat.setTerminator(t), RangeError, String(t));
  for (const t of [undefined, true, {}, [10], 10n, Symbol("x")]) {
    assert.throws(() => chat.setTerminator(t as unknown as Terminator), TypeError, typeof t);
  }
  assert.equal(chat.getTerminator(), "", "a refused terminator leaves the last one in place");
});

test("with useEncoding a string terminator is stored encoded, as Python does", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();
  chat.useEncoding = true;
  chat.encoding = "utf8";
  chat.setTerminator("é\n");
  assert.deepEqual(chat.getTerminator(), Buffer.from([0xc3, 0xa9, 0x0a]));
});

test("a string terminator is matched in its encoding (latin1 by default, or `encoding`)", { timeout: 5_000 }, () => {
  const chat = new Fed();
  chat.setTerminator("é");
  assert.deepEqual(chat.feed(Buffer.from([0x61, 0xe9, 0x62])), ["data a", "found", "data b"]);
  chat.encoding = "utf8";
  assert.deepEqual(chat.feed(Buffer.from([0xe9])), ["data \xe9"], "the latin1 byte is no longer a terminator");
  assert.deepEqual(chat.feed(Buffer.from([0x63, 0xc3])), ["data c"], "the first byte of the UTF-8 form is held back");
  assert.deepEqual(chat.feed(Buffer.from([0xa9, 0x64])), ["found", "data d"]);
});

test("input: a terminator split across reads, several per read, empty lines", { timeout: 5_000 }, () => {
  const chat = new Fed();
  chat.setTerminator("\r\n");
  assert.deepEqual(chat.feed("hello\r"), ["data hello"], "a trailing \\r is held back");
  assert.deepEqual(chat.feed("\nworld\r\n\r\nx"), ["found", "data world", "found", "found", "data x"]);
  assert.deepEqual(chat.feed("\r", "y"), ["data \ry"], "a held-back byte that was not a terminator is delivered");
});

test("input: an integer terminator counts down across reads, then everything passes through", { timeout: 5_000 }, () => {
  const chat = new Fed();
  chat.setTerminator(5);
  assert.deepEqual(chat.feed("ab"), ["data ab"]);
  assert.equal(chat.getTerminator(), 3);
  assert.deepEqual(chat.feed("cdefg"), ["data cde", "found", "data fg"]);
  assert.equal(chat.getTerminator(), 0);
});

test("input: integer-terminated pieces are views of the received buffer, not copies", { timeout: 5_000 }, () => {
  const seen: Buffer[] = [];
  class Views extends Fed {
    override collectIncomingData(data: Buffer): void { seen.push(data); }
  }
  const chat = new Views();
  chat.setTerminator(4);
  const read = b("abcdefgh");
  chat.feed(read);
  assert.equal(seen.length, 2);
  assert.equal(seen[0]!.buffer, read.buffer);
  assert.equal(seen[0]!.byteOffset, read.byteOffset);
  assert.equal(seen[1]!.toString(), "efgh");
});

test("input: a terminator changed in foundTerminator applies to the rest of the same read", { timeout: 5_000 }, () => {
  class Switcher extends Fed {
    override foundTerminator(): void {
      super.foundTerminator();
      const t = this.getTerminator();
      this.setTerminator(t === "\n" ? 3 : "\n");
    }
  }
  const chat = new Switcher();
  chat.setTerminator("\n");
  assert.deepEqual(chat.feed("a\nbcdef\ng"), ["data a", "found", "data bcd", "found", "data ef", "found", "data g"]);
});

test("input: discardBuffers in foundTerminator drops the rest of the read; a held-back prefix is dropped too", { timeout: 5_000 }, () => {
  class Discarder extends Fed {
    override foundTerminator(): void {
      super.foundTerminator();
      this.discardBuffers();
    }
  }
  const chat = new Discarder();
  chat.setTerminator("\n");
  assert.deepEqual(chat.feed("a\nb\nc"), ["data a", "found"]);
  const plain = new Fed();
  plain.setTerminator("\r\n");
  assert.deepEqual(plain.feed("abc\r"), ["data abc"]);
  plain.discardBuffers();
  assert.deepEqual(plain.feed("\nxyz"), ["data \nxyz"], "the held \\r is gone, so no terminator");
});

test("input: empty string, empty bytes and 0 terminators pass everything through (Python's `not terminator`)", { timeout: 5_000 }, () => {
  for (const t of ["", b(""), 0, null] as Terminator[]) {
    const chat = new Fed();
    chat.setTerminator(t);
    assert.deepEqual(chat.feed("ab\r\n", "c"), ["data ab\r\n", "data c"], String(t));
  }
});

test("input: many terminators in one large read are handled in linear time", { timeout: 10_000 }, () => {
  let lines = 0;
  class Counter extends AsyncChat {
    read: Buffer = Buffer.alloc(0);
    override recv(): Buffer { const r = this.read; this.read = Buffer.alloc(0); return r; }
    override collectIncomingData(data: Buffer): void { this._collectIncomingData(data); }
    override foundTerminator(): void { if (this._getData().length === 1) lines++; }
  }
  const chat = new Counter();
  chat.setTerminator("\n");
  // 2 MB of 1-byte lines in one read: re-slicing the rest at each line would copy terabytes.
  chat.read = Buffer.alloc(2_000_000, "x\n");
  chat.handleRead();
  assert.equal(lines, 1_000_000);
});

test("input: a long line read one byte at a time is joined once by _getData()", { timeout: 10_000 }, () => {
  const got: Buffer[] = [];
  class Lines extends AsyncChat {
    next: Buffer = Buffer.alloc(0);
    override recv(): Buffer { return this.next; }
    override collectIncomingData(data: Buffer): void { this._collectIncomingData(data); }
    override foundTerminator(): void { got.push(this._getData()); }
  }
  const chat = new Lines();
  chat.setTerminator("\r\n");
  const line = Buffer.alloc(300_000, "abc\r");
  for (const byte of Buffer.concat([line, b("\r\n")])) {
    chat.next = Buffer.from([byte]);
    chat.handleRead();
  }
  assert.equal(got.length, 1);
  assert.ok(got[0]!.equals(line));
  assert.equal(chat._getData().length, 0, "_getData() empties what it returns");
});

test("a subclass can have its own buffer, terminator, incoming and producerFifo fields", { timeout: 5_000 }, () => {
  class Own extends AsyncChat {
    buffer = "mine";
    terminator = "not the chat's";
    incoming = 42;
    producerFifo = ["x"];
    ac_in_buffer = "python name";
    override collectIncomingData(): void {}
    override foundTerminator(): void {}
  }
  const chat = new Own();
  chat.setTerminator("\n");
  chat.push(b("queued"));
  assert.equal(chat.buffer, "mine");
  assert.equal(chat.terminator, "not the chat's");
  assert.equal(chat.getTerminator(), "\n");
  assert.equal(chat.incoming, 42);
  assert.deepEqual(chat.producerFifo, ["x"]);
});

test("push: bytes only; large data is split into acOutBufferSize pieces; order is kept", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();  // not connected: nothing is sent, everything stays queued
  for (const bad of [10, "unicode", null, undefined, new ArrayBuffer(4), new DataView(new ArrayBuffer(4)), [1, 2]]) {
    assert.throws(() => chat.push(bad as unknown as Uint8Array), TypeError, String(bad));
  }
  assert.equal(chat._producerFifo.length, 0, "a refused push queues nothing");
  chat.acOutBufferSize = 4;
  chat.push(b("0123456789"));
  chat.push(b("abcd"));
  const queued = chat._producerFifo.toArray().map((e) => Buffer.from(e as Uint8Array).toString());
  assert.deepEqual(queued, ["0123", "4567", "89", "abcd"]);
  chat.acOutBufferSize = 0;
  assert.throws(() => chat.push(b("x")), RangeError);
});

test("pushWithProducer: a producer or bytes; anything else is a TypeError", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();
  const p = new SimpleProducer(b("abc"));
  chat.pushWithProducer(p);
  chat.pushWithProducer(b("xyz"));
  for (const bad of [10, "text", null, {}, { more: 1 }]) {
    assert.throws(() => chat.pushWithProducer(bad as unknown as Uint8Array), TypeError, String(bad));
  }
  assert.deepEqual(chat._producerFifo.toArray(), [p, b("xyz")]);
});

test("writable: while something is queued (a closeWhenDone marker too) or not connected", { timeout: 5_000 }, () => {
  const chat = new AsyncChat();
  chat.connected = true;  // pretend, to see the queue's part alone; initiateSend has no socket to use
  assert.equal(chat.writable(), false);
  chat.closeWhenDone();
  assert.equal(chat.writable(), true);
  assert.deepEqual(chat._producerFifo.toArray(), [null]);
  chat.discardBuffers();
  assert.equal(chat.writable(), false);
  chat.connected = false;
});

test("SimpleProducer hands out bufferSize bytes at a time, then empty", { timeout: 5_000 }, () => {
  const p = new SimpleProducer(b("hello world"), 4);
  assert.deepEqual([p.more(), p.more(), p.more(), p.more(), p.more()].map((x) => Buffer.from(x).toString()), ["hell", "o wo", "rld", "", ""]);
  const d = new SimpleProducer(Buffer.alloc(1200, 1));
  assert.deepEqual([d.more().length, d.more().length, d.more().length, d.more().length], [512, 512, 176, 0]);
  assert.throws(() => new SimpleProducer("text" as unknown as Uint8Array), TypeError);
  assert.throws(() => new SimpleProducer(b("x"), 0), RangeError);
  assert.throws(() => new SimpleProducer(b("x"), "8" as unknown as number), TypeError);
});

test("findPrefixAtEnd on bytes finds the longest prefix of the needle", { timeout: 5_000 }, () => {
  assert.equal(findPrefixAtEnd(b("data\r\n.\r"), b("\r\n.\r\n")), 4);
  assert.equal(findPrefixAtEnd(b("data\r\n."), b("\r\n.\r\n")), 3);
  assert.equal(findPrefixAtEnd(b("\r"), b("\r\n.\r\n")), 1);
  assert.equal(findPrefixAtEnd(b("abab"), b("ababc")), 4);
  assert.equal(findPrefixAtEnd(new Uint8Array([1, 2]), new Uint8Array([2, 3])), 1);
});

test('the package entry "asyncore/asynchat" exports AsyncChat, SimpleProducer and findPrefixAtEnd', { timeout: 10_000 }, async () => {
  const specifier = "asyncore/asynchat";  // a variable: resolved by Node at run time, through package.json "exports"
  const mod = (await import(specifier)) as Record<string, unknown>;
  assert.equal(mod.AsyncChat, AsyncChat);
  assert.equal(mod.SimpleProducer, SimpleProducer);
  assert.equal(mod.findPrefixAtEnd, findPrefixAtEnd);
});

test("ProducerFifo.at() and setFirst() see and replace entries across byte strings, producers and the close mark", { timeout: 5_000 }, () => {
  const fifo = new ProducerFifo();
  const producer = new SimpleProducer(Buffer.from("xyz"));
  fifo.push(Buffer.from("a"));
  fifo.push(Buffer.from("bc"));
  fifo.push(producer);
  fifo.push(Buffer.from("d"));
  fifo.push(null);
  assert.deepEqual([String(fifo.at(0)), String(fifo.at(1)), fifo.at(2) === producer, String(fifo.at(3)), fifo.at(4)], ["a", "bc", true, "d", null]);
  fifo.setFirst(Buffer.from("AA"));
  assert.equal(fifo.length, 5);
  assert.equal(fifo.bytes, 5);
  assert.equal(String(fifo.first()), "AA");
  fifo.shift();
  fifo.shift();
  fifo.setFirst(Buffer.from("P"));  // the producer's place
  assert.deepEqual(fifo.toArray().map((e) => (e === null ? null : String(e))), ["P", "d", null]);
  assert.equal(fifo.bytes, 2);
});
