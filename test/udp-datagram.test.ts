// DatagramDispatcher (src/datagram.ts) over AF_UNIX datagram sockets, where a receiver that does
// not read makes the sender's sends fail with EAGAIN: the queue, its order and bound, writable(),
// an oversized datagram reported, a 0-byte datagram delivered; in every poller mode.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AF_UNIX, type Address, DatagramDispatcher, MAX_UDP_PAYLOAD, SOCK_DGRAM, loop } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";
import { tmpPath } from "./helpers/tmpdir.js";

/** A datagram dispatcher bound to a fresh Unix path that keeps what it receives. */
class Collector extends DatagramDispatcher {
  readonly got: Buffer[] = [];
  reading = true;
  oversized: [Address, number][] = [];
  onDatagram: () => void = () => {};
  readonly path = tmpPath("dgram");

  constructor(map: Map<number, never> | ReturnType<typeof privateMap>) {
    super(null, map);
    this.createSocket(AF_UNIX, SOCK_DGRAM);
    this.bind(this.path);
  }

  override readable(): boolean {
    return this.reading;
  }

  override handleDatagram(data: Buffer): void {
    this.got.push(data);
    this.onDatagram();
  }

  override handleOversized(address: Address, limit: number): void {
    this.oversized.push([address, limit]);
  }
}

/** Datagram i: its index in the first 4 bytes, then a pattern that depends on it. */
function numbered(i: number, size: number): Buffer {
  const b = Buffer.alloc(size);
  b.writeUInt32BE(i, 0);
  for (let j = 4; j < size; j++) b[j] = (i * 31 + j) & 0xff;
  return b;
}

for (const mode of POLLERS) {
  test(`sends the kernel refuses are queued, sent in order once the receiver reads; writable() while queued, ${mode.name}`, { timeout: 20_000 }, async () => {
    const map = privateMap();
    const sender = new Collector(map);
    const receiver = new Collector(map);
    receiver.reading = false;
    const sent: Buffer[] = [];
    // More than the receiver's buffer holds (about 200 KiB), less than the queue's 1 MiB bound.
    for (let i = 0; i < 600; i++) {
      const d = numbered(i, 1000);
      assert.equal(sender.sendto(d, receiver.path), true);
      sent.push(d);
    }
    assert.ok(sender.queuedDatagrams > 0, "the receiver's buffer filled and datagrams were queued");
    assert.equal(sender.queuedBytes, sender.queuedDatagrams * 1000);
    assert.equal(sender.writable(), true);
    assert.equal(sender.droppedDatagrams, 0);
    receiver.reading = true;
    receiver.onDatagram = () => {
      if (receiver.got.length === sent.length) closeBoth();
    };
    const closeBoth = (): void => {
      assert.equal(sender.queuedDatagrams, 0);
      assert.equal(sender.writable(), false);
      sender.close();
      receiver.close();
    };
    await loop({ map, timeout: 1, usePoll: mode.usePoll });
    assert.equal(receiver.got.length, sent.length);
    for (let i = 0; i < sent.length; i++) assert.ok(receiver.got[i]!.equals(sent[i]!), `datagram ${i} arrived whole and in order`);
  });

  test(`a full queue refuses datagrams (false, droppedDatagrams) and holds input back; what it took arrives, ${mode.name}`, { timeout: 20_000 }, async () => {
    const map = privateMap();
    const sender = new Collector(map);
    const receiver = new Collector(map);
    receiver.reading = false;
    sender.outputHighWater = 20_000;
    const accepted: Buffer[] = [];
    let refused = 0;
    for (let i = 0; i < 1000 && refused < 3; i++) {
      const d = numbered(i, 1000);
      if (sender.sendto(d, receiver.path)) accepted.push(d);
      else refused++;
    }
    assert.equal(refused, 3);
    assert.equal(sender.droppedDatagrams, 3);
    assert.equal(sender.isFull(), true);
    assert.ok(sender.queuedBytes >= 20_000 && sender.queuedBytes < 21_000, `queued ${sender.queuedBytes} bytes: the bound, and one datagram over at most`);
    // A full sender is polled for writing only: a datagram sent to it meanwhile waits in its socket.
    const other = new Collector(map);
    other.sendto(Buffer.from("while full"), sender.path);
    let fullWhenRead: boolean | null = null;
    const closeWhenDone = (): void => {
      if (receiver.got.length === accepted.length && sender.got.length === 1) for (const d of [sender, receiver, other]) d.close();
    };
    sender.onDatagram = () => {
      fullWhenRead = sender.isFull();
      closeWhenDone();
    };
    receiver.reading = true;
    receiver.onDatagram = closeWhenDone;
    await loop({ map, timeout: 1, usePoll: mode.usePoll });
    assert.equal(receiver.got.length, accepted.length);
    for (let i = 0; i < accepted.length; i++) assert.ok(receiver.got[i]!.equals(accepted[i]!));
    assert.deepEqual(sender.got.map(String), ["while full"]);
    assert.equal(fullWhenRead, false, "the datagram that came while the queue was full was read once it was not");
  });

  test(`a datagram longer than maxDatagram goes to handleOversized(), never cut short; 0 bytes is a datagram, ${mode.name}`, { timeout: 20_000 }, async () => {
    const map = privateMap();
    const a = new Collector(map);
    const b = new Collector(map);
    assert.equal(b.maxDatagram, MAX_UDP_PAYLOAD);
    const big = numbered(1, MAX_UDP_PAYLOAD + 1000);  // Unix datagrams may exceed any UDP payload
    const exact = numbered(2, MAX_UDP_PAYLOAD);
    const small = numbered(3, 10);
    b.maxDatagram = MAX_UDP_PAYLOAD;
    for (const d of [big, Buffer.alloc(0), exact, small]) assert.equal(a.sendto(d, b.path), true);
    b.onDatagram = () => {
      if (b.got.length === 3) {
        a.close();
        b.close();
      }
    };
    await loop({ map, timeout: 1, usePoll: mode.usePoll });
    assert.deepEqual(b.oversized, [[a.path, MAX_UDP_PAYLOAD]]);
    assert.equal(b.got.length, 3);
    assert.equal(b.got[0]!.length, 0, "the 0-byte datagram arrived as one (and did not close the channel)");
    assert.ok(b.got[1]!.equals(exact), "a datagram of exactly maxDatagram bytes is whole");
    assert.ok(b.got[2]!.equals(small));
  });
}

test("the default handleOversized() logs one error line; bad arguments throw clear errors", { timeout: 10_000 }, async () => {
  const map = privateMap();
  const a = new Collector(map);
  const b = new DatagramDispatcher(null, map);
  b.createSocket(AF_UNIX);
  const path = tmpPath("dgram");
  b.bind(path);
  b.maxDatagram = 5;
  const lines: string[] = [];
  b.logInfo = (message, type) => { lines.push(`${type}: ${String(message)}`); };
  a.sendto(Buffer.from("123456"), path);
  assert.equal(b.recvfrom(), null, "the oversized datagram is not handed out; nothing else waits");
  assert.deepEqual(lines, [`error: datagram from ${JSON.stringify(a.path)} longer than 5 bytes discarded (see maxDatagram)`]);
  // recv(): the bytes alone; an empty datagram reads as empty and leaves the channel open.
  a.sendto(Buffer.alloc(0), path);
  a.sendto(Buffer.from("abc"), path);
  assert.equal(b.recv().length, 0);
  assert.equal(b.recv().toString(), "abc");
  assert.equal(b.recv().length, 0, "nothing waits: empty, no error");
  assert.ok(b.socket !== null && b.socket.fileno() >= 0, "still open");
  assert.throws(() => a.sendto("text" as unknown as Buffer, path), TypeError);
  assert.throws(() => a.sendto(Buffer.from("x"), 42 as unknown as string), TypeError);
  assert.throws(() => b.recvfrom(-1), RangeError);
  assert.throws(() => { a.outputHighWater = -1; }, RangeError);
  a.close();
  b.close();
  assert.throws(() => a.sendto(Buffer.from("x"), path), { code: "EBADF" });
});
