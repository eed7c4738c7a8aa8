// The dispatcher's I/O paths beyond Python's: read-ahead (recv(n) reads up to readAhead bytes from
// the kernel and hands them out n at a time), output sent when the pass ends (one gather-write per
// channel), and received Buffers that are never written again.
import { test } from "node:test";
import assert from "node:assert/strict";
import { Dispatcher, DispatcherWithSend, MSG_PEEK, type Socket, loop, poll, socketpair } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";

const T = { timeout: 10_000 };

/** Reads everything available on a raw socket (non-blocking) until `n` bytes came. */
async function readExactly(sock: Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  const deadline = Date.now() + 5_000;
  while (got < n) {
    try {
      const d = sock.recv(n - got);
      if (d.length === 0) break;
      parts.push(d);
      got += d.length;
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN") throw err;
      if (Date.now() > deadline) throw new Error(`only ${got} of ${n} bytes came`);
      await new Promise((r) => setImmediate(r));
    }
  }
  return Buffer.concat(parts);
}

test("recv(n) returns at most n bytes; the rest is read ahead and comes first, in order", T, async () => {
  const map = privateMap();
  const [a, b] = socketpair();
  const d = new Dispatcher(a, map);
  b.send(Buffer.from("0123456789abcdef"));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(d.recv(4).toString(), "0123");
  // The kernel gave everything at once; the socket's own receives see the buffered bytes first.
  assert.equal((d.socket as Socket).recv(2, MSG_PEEK).toString(), "45");
  assert.equal((d.socket as Socket).recv(2).toString(), "45");
  assert.equal(d.recv(100).toString(), "6789abcdef");
  d.close();
  b.close();
});

test("readAhead = 0 reads exactly what is asked from the kernel", T, async () => {
  const map = privateMap();
  const [a, b] = socketpair();
  const d = new Dispatcher(a, map);
  d.readAhead = 0;
  b.send(Buffer.from("0123456789"));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(d.recv(3).toString(), "012");
  // Nothing was read ahead: the kernel still holds the rest.
  assert.equal((d.socket as Socket).recv(100).toString(), "3456789");
  d.close();
  b.close();
});

for (const mode of POLLERS) {
  test(`input already read ahead makes the next pass run at once and read it, ${mode.name}`, T, async () => {
    const map = privateMap();
    const [a, b] = socketpair();
    const reads: string[] = [];
    class Reader extends Dispatcher {
      override writable() { return false; }
      override handleRead() { reads.push(this.recv(2).toString()); }
    }
    const r = new Reader(a, map);
    b.send(Buffer.from("aabbcc"));
    b.shutdown(1);
    const started = Date.now();
    // Each pass reads 2 bytes; the 4 buffered bytes must not wait for the kernel (30 s timeout).
    await loop({ map, timeout: 30, usePoll: mode.usePoll, count: 3 });
    assert.deepEqual(reads, ["aa", "bb", "cc"]);
    assert.ok(Date.now() - started < 5_000);
    r.close();
    b.close();
  });

  test(`sends made in one pass go out together when it ends, and before a close(), ${mode.name}`, T, async () => {
    const map = privateMap();
    const [a, b] = socketpair();
    const queuedDuringPass: number[] = [];
    class Talker extends DispatcherWithSend {
      override handleRead() {
        this.recv(100);
        this.send(Buffer.from("one "));
        this.send(Buffer.from("two "));
        queuedDuringPass.push(this.outBuffer.length);  // everything queued is visible in outBuffer
        this.send(Buffer.from("three"));
        this.close();                                    // what the pass queued goes out first
      }
    }
    new Talker(a, map);
    b.send(Buffer.from("go"));
    await loop({ map, timeout: 5, usePoll: mode.usePoll });
    assert.deepEqual(queuedDuringPass, [8]);
    assert.equal((await readExactly(b, 13)).toString(), "one two three");
    b.close();
  });

  test(`output waits for read-ahead input only while the handler reads it, ${mode.name}`, T, async () => {
    // The handler answers the first 4 bytes, then stops reading (it waits for something else) while
    // readable() stays true and the rest of the burst sits read ahead. Python would have sent the
    // answer at send() time: it must go out, not wait for input nobody reads.
    const map = privateMap();
    const [a, b] = socketpair();
    let calls = 0;
    class Stalling extends DispatcherWithSend {
      override handleRead() {
        calls++;
        if (calls > 1) return;
        this.recv(4);
        this.send(Buffer.from("pong"));
      }
    }
    const d = new Stalling(a, map);
    b.send(Buffer.concat([Buffer.from("ping"), Buffer.alloc(4000, "x")]));
    let got = "";
    for (let k = 0; k < 20 && got.length < 4; k++) {
      await loop({ map, timeout: 0.05, usePoll: mode.usePoll, count: 1 });
      try {
        got += b.recv(100).toString();
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
      }
    }
    assert.equal(got, "pong");
    d.close();
    b.close();
  });

  test(`a caller's buffer may be reused after send() in a handler, ${mode.name}`, T, async () => {
    const map = privateMap();
    const [a, b] = socketpair();
    class Reuser extends DispatcherWithSend {
      override handleRead() {
        this.recv(100);
        const scratch = Buffer.from("first ");
        this.send(scratch);
        scratch.write("XXXXXX");  // changed before the pass ends: what was sent must not change
        this.send(Buffer.from("second"));
      }
    }
    const d = new Reuser(a, map);
    b.send(Buffer.from("go"));
    await poll(5, map);
    assert.equal((await readExactly(b, 12)).toString(), "first second");
    d.close();
    b.close();
  });
}

test("Buffers received earlier are never overwritten by later receives", T, async () => {
  const map = privateMap();
  const [a, b] = socketpair();
  const d = new Dispatcher(a, map);
  const kept: Array<[Buffer, string]> = [];
  for (let i = 0; i < 300; i++) {
    const msg = `message ${i} `.padEnd(4000, String.fromCharCode(65 + (i % 26)));
    b.sendall(Buffer.from(msg));
    let got = "";
    while (got.length < msg.length) {
      await new Promise((r) => setImmediate(r));
      try {
        const data = d.recv(msg.length - got.length);
        kept.push([data, data.toString()]);
        got += data.toString();
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN") throw err;
      }
    }
  }
  // 1.2 MB went through the shared receive block: every Buffer still holds what it held.
  for (const [data, text] of kept) assert.equal(data.toString(), text);
  d.close();
  b.close();
});
