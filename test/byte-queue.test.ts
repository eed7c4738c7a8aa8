// ByteQueue (src/byte-queue.ts), the output queue under AsyncChat and the port forwarder: order,
// byte counts, gather lists bounded in bytes and chunks, partial consumption, long queues.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteQueue } from "../src/byte-queue.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");
const text = (list: readonly Uint8Array[]): string => Buffer.concat(list).toString("latin1");

test("push counts bytes and chunks, skips empty chunks, keeps the caller's buffer", () => {
  const q = new ByteQueue();
  const abc = b("abc");
  q.push(abc);
  q.push(b(""));
  q.push(b("de"));
  assert.equal(q.length, 5);
  assert.equal(q.count, 2);
  assert.equal(q.first(), abc);
  assert.equal(text(q.chunks()), "abcde");
});

test("chunks() is bounded by bytes (the last chunk cut to fit) and by count", () => {
  const q = new ByteQueue();
  for (const s of ["aaaa", "bbbb", "cccc"]) q.push(b(s));
  assert.deepEqual(q.chunks(6).map((c) => c.toString()), ["aaaa", "bb"]);
  assert.deepEqual(q.chunks(Infinity, 2).map((c) => c.toString()), ["aaaa", "bbbb"]);
  assert.deepEqual(q.chunks(4).map((c) => c.toString()), ["aaaa"]);
  assert.deepEqual(q.chunks(0), []);
  // chunks() does not consume
  assert.equal(q.length, 12);
  assert.equal(text(q.chunks()), "aaaabbbbcccc");
});

test("consume() drops whole chunks and cuts the first remaining one", () => {
  const q = new ByteQueue();
  for (const s of ["aaaa", "bbbb", "cccc"]) q.push(b(s));
  q.consume(0);
  assert.equal(q.length, 12);
  q.consume(2);
  assert.equal(text(q.chunks()), "aabbbbcccc");
  assert.equal(q.count, 3);
  q.consume(2);
  assert.equal(q.count, 2);
  assert.equal(text(q.chunks()), "bbbbcccc");
  q.consume(5);
  assert.equal(q.length, 3);
  assert.equal(text(q.chunks()), "ccc");
  q.consume(100);
  assert.equal(q.length, 0);
  assert.equal(q.count, 0);
  assert.equal(q.first(), undefined);
  assert.deepEqual(q.chunks(), []);
});

test("clear() empties; the queue is usable afterwards", () => {
  const q = new ByteQueue();
  q.push(b("xyz"));
  q.clear();
  assert.equal(q.length, 0);
  assert.deepEqual(q.chunks(), []);
  q.push(b("1"));
  assert.equal(text(q.chunks()), "1");
});

test("toBuffer() joins once and keeps the join as the only chunk", () => {
  const q = new ByteQueue();
  assert.equal(q.toBuffer().length, 0);
  q.push(b("ab"));
  q.push(b("cd"));
  const all = q.toBuffer();
  assert.equal(all.toString(), "abcd");
  assert.equal(q.count, 1);
  assert.equal(q.toBuffer(), all);
  const u = new ByteQueue<Uint8Array>();
  u.push(new Uint8Array([1, 2]));
  assert.ok(Buffer.isBuffer(u.toBuffer()));
});

test("a long queue drained in small steps keeps its order and its count", () => {
  const q = new ByteQueue();
  const n = 5000;
  let expected = "";
  for (let i = 0; i < n; i++) {
    const s = `${i},`;
    q.push(b(s));
    expected += s;
  }
  let got = "";
  while (q.length > 0) {
    const list = q.chunks(7, 3);
    const taken = Math.min(5, list.reduce((sum, c) => sum + c.length, 0));
    got += text(list).slice(0, taken);
    q.consume(taken);
    // pushing while draining, as a channel does
    if (got.length % 97 === 0) {
      q.push(b("+"));
      expected += "+";
    }
  }
  assert.equal(got, expected);
  assert.equal(q.count, 0);
});

test("a queue emptied by consume() starts again at its first slot, in order", () => {
  const q = new ByteQueue();
  for (let round = 0; round < 3000; round++) {
    q.push(b(`a${round}`));
    q.push(b("-"));
    assert.equal(q.count, 2);
    assert.equal(text(q.chunks()), `a${round}-`);
    q.consume(1);  // part of the first chunk
    assert.equal(q.first()!.toString(), `${round}`);
    q.consume(q.length);
    assert.equal(q.count, 0);
    assert.equal(q.first(), undefined);
  }
  q.push(b("x"));
  assert.equal(text(q.chunks()), "x");
});
