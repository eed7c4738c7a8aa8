// The receive path (src/receive.ts) and the accept shortcut: read-ahead hands bytes out in order
// whichever method reads, received memory queued by DispatcherWithSend is never copied and the
// pieces of one read-ahead leave as one buffer, small results of the other receives (recvfrom,
// flags, datagrams, files) hold only their own bytes, a dispatcher made for a just-accepted socket
// gets its peer address from accept(), and errors.ts classifies -errno and Errors alike.
import os from "node:os";
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AF_INET, AF_UNIX, DatagramDispatcher, Dispatcher, DispatcherWithSend, FileDispatcher, FileWrapper, MSG_DONTWAIT, MSG_OOB,
  MSG_PEEK, MSG_WAITALL, SOCK_DGRAM, Socket, type Address, type SocketMap, closeAll, loop, socketpair,
} from "../src/index.js";
import { binding } from "../src/native.js";
import { isDisconnect, isWouldBlock, systemError } from "../src/errors.js";
import { MAX_WAITALL, receivedMemory } from "../src/receive.js";
import { kBuffered, kTryRecv } from "../src/socket.js";
import { POLLERS } from "./helpers/pollers.js";

const isReceived = (data: Uint8Array): boolean => receivedMemory(data) !== null;

const bytes = (n: number, seed = 0): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff));

test("read-ahead: one receive serves several recv(n), then recv(), recv(MSG_PEEK) and recvfrom() see the rest in order", { timeout: 5_000 }, () => {
  const [a, b] = socketpair();
  try {
    const sent = bytes(10_000);
    b.sendall(sent);
    const first = a[kTryRecv](1000, 65536) as Buffer;
    assert.deepEqual(first, sent.subarray(0, 1000));
    assert.equal(a[kBuffered](), 9000, "the rest was read ahead");
    assert.deepEqual(a[kTryRecv](3000, 65536), sent.subarray(1000, 4000));
    assert.deepEqual(a.recv(10, MSG_PEEK), sent.subarray(4000, 4010), "a peek leaves the bytes");
    assert.deepEqual(a.recv(1000), sent.subarray(4000, 5000));
    assert.deepEqual(a.recvfrom(1000)[0], sent.subarray(5000, 6000));
    assert.deepEqual(a.recv(100_000), sent.subarray(6000), "the rest of the read-ahead, not more");
    assert.equal(a[kBuffered](), 0);
    b.send(Buffer.from("next"));
    assert.deepEqual(a.recv(100), Buffer.from("next"), "then the kernel again");
  } finally {
    a.close();
    b.close();
  }
});

test("read-ahead comes first for MSG_DONTWAIT and MSG_WAITALL too; MSG_OOB goes to the kernel", { timeout: 5_000 }, () => {
  const [a, b] = socketpair();
  try {
    b.sendall(Buffer.from("0123456789"));
    assert.deepEqual(a[kTryRecv](2, 65536), Buffer.from("01"));
    b.sendall(Buffer.from("later"));
    assert.deepEqual(a.recv(3, MSG_DONTWAIT), Buffer.from("234"), "not the kernel's later bytes");
    assert.deepEqual(a.recvfrom(100, MSG_DONTWAIT | MSG_PEEK)[0], Buffer.from("56789"));
    assert.deepEqual(a.recv(2, MSG_WAITALL), Buffer.from("56"));
    assert.deepEqual(a.recv(100, MSG_WAITALL), Buffer.from("789"), "what was read ahead, then the kernel");
    assert.deepEqual(a.recv(100), Buffer.from("later"));
    b.sendall(Buffer.from("more"));
    assert.deepEqual(a[kTryRecv](1, 65536), Buffer.from("m"));
    assert.throws(() => a.recv(1, MSG_OOB), { code: "EINVAL" }, "no urgent data waits: the kernel answered, not the read-ahead");
    assert.equal(a[kBuffered](), 3, "the read-ahead is still there");
  } finally {
    a.close();
    b.close();
  }
});

test("small results of recv(flags), recvfrom(), datagrams and FileWrapper.read() hold only their own bytes; large ones are views", { timeout: 5_000 }, () => {
  const owns = (buf: Buffer): boolean => !isReceived(buf) && buf.buffer.byteLength <= 8192;
  const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
  const [s, t] = socketpair();
  const map: SocketMap = new Map();
  try {
    b.send(bytes(60));
    const peek = a.recv(100, MSG_PEEK);
    assert.deepEqual(peek, bytes(60));
    assert.ok(owns(peek), "a peeked datagram: its own bytes");
    const [small] = a.recvfrom(100);
    assert.deepEqual(small, bytes(60), "MSG_PEEK did not consume");
    assert.ok(owns(small), "a 60-byte datagram does not keep a 1 MiB block alive");
    assert.deepEqual(peek, bytes(60), "the next receive did not write into what was handed out");
    b.send(bytes(40_000, 1));
    const large = a.recv(65536);
    assert.deepEqual(large, bytes(40_000, 1));
    assert.ok(isReceived(large), "a large result is a view of the receive memory");
    b.send(bytes(50, 2));
    assert.deepEqual(a.recv(65536), bytes(50, 2));
    assert.deepEqual(large, bytes(40_000, 1), "and is never written again");
    // DatagramDispatcher.recvfrom()
    const d = new DatagramDispatcher(a, map);
    b.send(bytes(60, 3));
    const got = d.recvfrom();
    assert.ok(got !== null && got[0].equals(bytes(60, 3)) && owns(got[0]));
    // FileWrapper.read(): exact; FileDispatcher.recv(): a view, as Dispatcher.recv() on a socket.
    const w = new FileWrapper(s.fileno());
    t.send(bytes(30, 4));
    const read = w.read(100);
    assert.deepEqual(read, bytes(30, 4));
    assert.ok(owns(read));
    w.close();
    const f = new FileDispatcher(s.fileno(), map);
    t.send(bytes(30, 5));
    const viaDispatcher = f.recv(100);
    assert.deepEqual(viaDispatcher, bytes(30, 5));
    assert.ok(isReceived(viaDispatcher));
  } finally {
    closeAll(map);
    for (const x of [a, b, s, t]) x.close();
  }
});

test("recv(n, MSG_WAITALL) past MAX_WAITALL: RangeError, nothing allocated or received; recv(2**31-1) returns what is there", { timeout: 5_000 }, () => {
  const [a, b] = socketpair();
  try {
    b.sendall(Buffer.from("abc"));
    assert.throws(() => a.recv(MAX_WAITALL + 1, MSG_WAITALL), RangeError);
    assert.equal(binding.queued(a.fileno()), 3);
    assert.deepEqual(a.recv(2 ** 31 - 1), Buffer.from("abc"));
  } finally {
    a.close();
    b.close();
  }
});

test("received memory: known as such, other memory never; DispatcherWithSend queues the pieces of one read-ahead as one entry", { timeout: 5_000 }, async () => {
  const map: SocketMap = new Map();
  const [a, b] = socketpair();
  const sent = bytes(4096, 3);
  const seen: { received: boolean; copyReceived: boolean; entries: number[]; queued: Buffer | null } = { received: false, copyReceived: true, entries: [], queued: null };
  class Echo extends DispatcherWithSend {
    override handleRead(): void {
      if (seen.queued !== null) {
        this.send(this.recv(8192));
        return;
      }
      const p1 = this.recv(1024);
      const p2 = this.recv(1024);
      seen.received = isReceived(p1) && isReceived(p2);
      seen.copyReceived = isReceived(Buffer.from(p1));
      this.send(p1);
      this.send(p2);  // adjacent to p1 in the same memory: extends its entry
      seen.entries.push(this._queue.length);
      this.send(Buffer.from("--"));  // other memory: an entry of its own
      this.send(this.recv(1024));  // received again, but not adjacent to what is last
      seen.entries.push(this._queue.length);
      seen.queued = Buffer.from(this.outBuffer);
    }
  }
  try {
    new Echo(a, map);
    b.sendall(sent);
    let got = Buffer.alloc(0);
    for (let n = 0; n < 100 && got.length < 4098 && map.size > 0; n++) {
      await loop({ map, timeout: 0.05, count: 1 });
      if (binding.queued(b.fileno()) > 0) got = Buffer.concat([got, b.recv(8192)]);
    }
    assert.ok(seen.received, "recv() pieces are received memory");
    assert.ok(!seen.copyReceived, "a copy is not received memory");
    assert.deepEqual(seen.entries, [1, 3]);
    assert.deepEqual(seen.queued, Buffer.concat([sent.subarray(0, 2048), Buffer.from("--"), sent.subarray(2048, 3072)]));
    assert.deepEqual(got, Buffer.concat([seen.queued, sent.subarray(3072)]), "sent as queued, in order");
  } finally {
    closeAll(map);
    b.close();
  }
});

for (const mode of POLLERS) {
  test(`DispatcherWithSend echoes 1 MiB read 8 KiB at a time intact (${mode.name})`, { timeout: 20_000 }, async () => {
    const map: SocketMap = new Map();
    const [a, b] = socketpair();
    class Echo extends DispatcherWithSend {
      override handleRead(): void {
        const data = this.recv(8192);
        if (data.length > 0) this.send(data);
      }
    }
    const sent = bytes(1 << 20, 5);
    const got: Buffer[] = [];
    let gotBytes = 0;
    class Peer extends DispatcherWithSend {
      override handleRead(): void {
        const data = this.recv(65536);
        got.push(Buffer.from(data));
        gotBytes += data.length;
        if (gotBytes >= sent.length) closeAll(map);
      }
    }
    new Echo(a, map);
    const peer = new Peer(b, map);
    peer.send(sent);
    await loop({ map, timeout: 1, usePoll: mode.usePoll });
    assert.equal(gotBytes, sent.length);
    assert.ok(Buffer.concat(got).equals(sent), "every byte, in order");
  });
}

test("a dispatcher made for a just-accepted socket takes the peer address from accept() and stays non-blocking", { timeout: 5_000 }, async () => {
  const map: SocketMap = new Map();
  const accepted: Dispatcher[] = [];
  class Listener extends Dispatcher {
    override handleAccepted(sock: Socket, _addr: Address): void {
      accepted.push(new Dispatcher(sock, map));
    }
  }
  const l = new Listener(null, map);
  l.createSocket(AF_INET);
  l.bind(["127.0.0.1", 0]);
  l.listen(8);
  const c = new Socket(AF_INET);
  try {
    c.connectEx((l.socket as Socket).getsockname());
    await new Promise((r) => setTimeout(r, 50));  // the handshake completes in the kernel
    l.handleAccept();
    assert.equal(accepted.length, 1);
    const d = accepted[0]!;
    assert.equal(d.connected, true);
    assert.deepEqual(d.addr, c.getsockname(), "the peer's address, as getpeername() tells it");
    assert.equal((d.socket as Socket).gettimeout(), 0, "non-blocking");
    // A socket set blocking by hand before it is wrapped is made non-blocking by the dispatcher.
    const c2 = new Socket(AF_INET);
    c2.connectEx((l.socket as Socket).getsockname());
    await new Promise((r) => setTimeout(r, 50));
    const pair = l.accept()!;
    pair[0].setblocking(true);
    const d2 = new Dispatcher(pair[0], map);
    assert.equal((d2.socket as Socket).gettimeout(), 0);
    assert.deepEqual(d2.addr, c2.getsockname());
    c2.close();
  } finally {
    closeAll(map);
    c.close();
  }
});

test("isWouldBlock() and isDisconnect() take -errno or an Error", () => {
  const E = os.constants.errno;
  const eagain = systemError(-E.EAGAIN, "recv");
  const reset = systemError(-E.ECONNRESET, "recv");
  assert.equal(isWouldBlock(eagain.errno), true);
  assert.equal(isWouldBlock(eagain), true);
  assert.equal(isWouldBlock(reset.errno), false);
  assert.equal(isWouldBlock(reset), false);
  assert.equal(isDisconnect(reset.errno), true);
  assert.equal(isDisconnect(reset), true);
  assert.equal(isDisconnect(systemError(-E.EPIPE, "send")), true, "EPIPE");
  assert.equal(isDisconnect(eagain.errno), false);
  assert.equal(isDisconnect(eagain), false);
  assert.equal(isDisconnect(new Error("plain")), false);
  assert.equal(isDisconnect(null), false);
});
