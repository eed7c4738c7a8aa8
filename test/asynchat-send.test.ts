// AsyncChat's output side over real sockets (a socketpair) and the loop: the queue keeps its order
// across bytes and producers, closeWhenDone() closes after what was queued before it, a push
// from a timer wakes a waiting pass, large data survives partial sends, errors go where Python
// sends them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncChat, type Producer, SimpleProducer } from "../src/asynchat.js";
import { Dispatcher, type Socket, type SocketMap, closeAll, loop, socketpair } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** The far end: collects everything until end of stream. */
class Sink extends Dispatcher {
  chunks: Buffer[] = [];
  eof = false;
  override writable(): boolean { return false; }
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length) this.chunks.push(d);
  }
  override handleClose(): void {
    this.eof = true;
    this.close();
  }
  get data(): Buffer { return Buffer.concat(this.chunks); }
}

/** A chat that only sends (its input is not part of these tests). */
class Sender extends AsyncChat {
  override collectIncomingData(): void {}
  override foundTerminator(): void {}
}

/** Reads what is waiting on a non-blocking socket, until it would block or the stream ends. */
function drain(sock: Socket): Buffer {
  const out: Buffer[] = [];
  for (;;) {
    let d: Buffer;
    try {
      d = sock.recv(65536);
    } catch (err) {
      if ((err as { code?: string }).code === "EAGAIN" || (err as { code?: string }).code === "EWOULDBLOCK") break;
      throw err;
    }
    if (d.length === 0) break;
    out.push(d);
  }
  return Buffer.concat(out);
}

for (const mode of POLLERS) {
  test(`the queue keeps its order across bytes and producers; closeWhenDone closes after it, ${mode.name}`, { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const [a, z] = socketpair();
    try {
      const chat = new Sender(a, map);
      const sink = new Sink(z, map);
      chat.acOutBufferSize = 3;
      let asked = 0;
      const counting: Producer = { more: () => (++asked <= 3 ? b(`<p${asked}>`) : new Uint8Array(0)) };
      chat.push(b("first "));
      chat.pushWithProducer(new SimpleProducer(b("simple producer "), 5));
      chat.push(b("middle "));
      chat.pushWithProducer(counting);
      chat.pushWithProducer(b(" bytes as a producer"));
      chat.push(new Uint8Array(0));  // empty: skipped
      chat.closeWhenDone();
      chat.push(b("never sent"));
      await loop({ map, usePoll: mode.usePoll, timeout: 1, count: 10_000 });
      assert.equal(sink.data.toString(), "first simple producer middle <p1><p2><p3> bytes as a producer");
      assert.equal(asked, 4, "the producer is asked until it returns nothing");
      assert.ok(sink.eof, "the far end sees the close");
      assert.equal(chat.fileno(), null, "closeWhenDone closed the channel");
      assert.equal(map.size, 0);
    } finally {
      closeAll(map);
    }
  });

  test(`4 MB pushed at once arrives intact through partial sends, ${mode.name}`, { timeout: 20_000 }, async () => {
    const map: SocketMap = new Map();
    const [a, z] = socketpair();
    try {
      const chat = new Sender(a, map);
      const sink = new Sink(z, map);
      const data = Buffer.alloc(4 << 20);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >> 13)) & 0xff;
      chat.push(data);
      assert.ok(chat._producerFifo.length > 1, "the kernel cannot take 4 MB at once: the rest stays queued");
      const producerData = Buffer.alloc(300_000, "producer");
      chat.pushWithProducer(new SimpleProducer(producerData, 100_000));  // pieces larger than acOutBufferSize
      chat.closeWhenDone();
      await loop({ map, usePoll: mode.usePoll, timeout: 1, count: 100_000 });
      assert.ok(sink.data.equals(Buffer.concat([data, producerData])));
      assert.equal(map.size, 0);
    } finally {
      closeAll(map);
    }
  });

  test(`push and closeWhenDone from a timer wake a pass that waits (timeout 30 s), ${mode.name}`, { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const [a, z] = socketpair();  // z stays out of the map: only the chat's own readiness can end a wait
    try {
      const chat = new Sender(a, map);
      const data = Buffer.alloc(20_000, "w");
      const started = Date.now();
      setTimeout(() => {
        // A producer sends one piece per initiateSend(): the other 39 need writable passes.
        chat.pushWithProducer(new SimpleProducer(data, 512));
        chat.closeWhenDone();
      }, 50);
      await loop({ map, usePoll: mode.usePoll, timeout: 30 });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 5_000, `the loop should end soon after the push, took ${elapsed} ms`);
      assert.ok(drain(z).equals(data));
    } finally {
      closeAll(map);
      z.close();
    }
  });

  test(`output pushed by a chat that stops reading goes out although input is read ahead, ${mode.name}`, { timeout: 10_000 }, async () => {
    // A small acInBufferSize leaves the rest of a burst read ahead; the chat then stops reading
    // (readable() false: it waits for something else) and answers. The answer must not wait for
    // input the chat will not read.
    const map: SocketMap = new Map();
    const [a, z] = socketpair();  // z stays out of the map
    try {
      class Pausing extends AsyncChat {
        paused = false;
        override readable(): boolean { return !this.paused && super.readable(); }
        override collectIncomingData(): void {}
        override foundTerminator(): void {
          this.paused = true;
          this.push(b("answer\n"));
        }
      }
      const chat = new Pausing(a, map);
      chat.acInBufferSize = 16;
      chat.setTerminator("\n");
      z.send(Buffer.concat([b("question\n"), Buffer.alloc(4000, "x")]));
      let got = Buffer.alloc(0);
      for (let k = 0; k < 20 && got.length < 7; k++) {
        await loop({ map, usePoll: mode.usePoll, timeout: 0.05, count: 1 });
        got = Buffer.concat([got, drain(z)]);
      }
      assert.ok(chat.paused, "the chat found its terminator");
      assert.equal(got.toString(), "answer\n");
    } finally {
      closeAll(map);
      z.close();
    }
  });

  test(`the peer's close closes the chat (handleClose closes by default), ${mode.name}`, { timeout: 10_000 }, async () => {
    const map: SocketMap = new Map();
    const [a, z] = socketpair();
    try {
      const got: string[] = [];
      class Lines extends AsyncChat {
        override collectIncomingData(d: Buffer): void { got.push(d.toString()); }
        override foundTerminator(): void { got.push("|"); }
      }
      const chat = new Lines(a, map);
      chat.setTerminator("\n");
      z.send(b("one\ntwo"));
      z.close();
      await loop({ map, usePoll: mode.usePoll, timeout: 1, count: 100 });
      assert.deepEqual(got, ["one", "|", "two"]);
      assert.equal(chat.fileno(), null);
      assert.equal(map.size, 0);
    } finally {
      closeAll(map);
    }
  });
}

test("initiateSend sends at most one acOutBufferSize piece per call, and asks a producer lazily", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, z] = socketpair();
  try {
    const chat = new Sender(a, map);
    chat.acOutBufferSize = 4;
    chat.push(b("0123456789"));
    assert.equal(drain(z).toString(), "0123");
    chat.initiateSend();
    assert.equal(drain(z).toString(), "4567");
    chat.initiateSend();
    assert.equal(drain(z).toString(), "89");
    assert.equal(chat._producerFifo.length, 0);
    let asked = 0;
    chat.pushWithProducer({ more: () => (++asked === 1 ? b("abcdef") : new Uint8Array(0)) });
    assert.equal(asked, 1);
    assert.equal(drain(z).toString(), "abcd");
    chat.initiateSend();
    assert.equal(drain(z).toString(), "ef");
    assert.equal(asked, 1, "not asked again until its piece is sent");
    chat.initiateSend();
    assert.equal(asked, 2);
    assert.equal(chat._producerFifo.length, 0);
  } finally {
    closeAll(map);
    z.close();
  }
});

test("a push to a peer that has gone closes the channel (no exception)", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, z] = socketpair();
  try {
    const chat = new Sender(a, map);
    z.close();
    chat.push(b("nobody listens"));
    assert.equal(chat.fileno(), null);
    assert.equal(map.size, 0);
  } finally {
    closeAll(map);
  }
});

test("a system error from send goes to handleError (Python catches OSError there); other errors propagate", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, z] = socketpair();
  try {
    const errors: unknown[] = [];
    const failure = Object.assign(new Error("send EIO"), { code: "EIO", errno: -5, syscall: "send" });
    let next: unknown = failure;
    class Failing extends Sender {
      override send(): number { throw next; }
      override handleError(err: unknown): void { errors.push(err); }
    }
    const chat = new Failing(a, map);
    chat.push(b("x"));
    assert.deepEqual(errors, [failure]);
    next = new TypeError("a bug");
    assert.throws(() => chat.initiateSend(), TypeError);
    assert.equal(errors.length, 1);
  } finally {
    closeAll(map);
    z.close();
  }
});

test("a string from a producer or given to pushWithProducer: encoded with useEncoding, a TypeError without", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, z] = socketpair();
  try {
    const chat = new Sender(a, map);
    const stringy = (): Producer => {
      let done = false;
      return { more: () => (done ? new Uint8Array(0) : ((done = true), "é") as unknown as Uint8Array) };
    };
    assert.throws(() => chat.pushWithProducer(stringy()), TypeError);
    chat.discardBuffers();
    chat.useEncoding = true;
    chat.encoding = "utf8";
    chat.pushWithProducer(stringy());
    assert.deepEqual(drain(z), Buffer.from("é", "utf8"));
    chat.pushWithProducer("ü" as unknown as Uint8Array);  // Python accepts a str entry with use_encoding too
    assert.deepEqual(drain(z), Buffer.from("ü", "utf8"));
    chat.useEncoding = false;
    assert.throws(() => chat.pushWithProducer("ü" as unknown as Uint8Array), TypeError);
  } finally {
    closeAll(map);
    z.close();
  }
});
