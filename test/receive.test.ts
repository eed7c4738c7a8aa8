// The receive path (src/receive.ts) and the accept shortcut: read-ahead hands bytes out in order
// whichever method reads, received memory queued by DispatcherWithSend is never copied and the
// pieces of one read-ahead leave as one buffer, a dispatcher made for a just-accepted socket gets
// its peer address from accept(), and errors.ts classifies -errno and Errors alike.
import os from "node:os";
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AF_INET, Dispatcher, DispatcherWithSend, MSG_PEEK, Socket, type Address, type SocketMap, closeAll, loop, socketpair,
} from "../src/index.js";
import { isDisconnect, isWouldBlock, systemError } from "../src/errors.js";
import { isReceived, joinReceived } from "../src/receive.js";
import { kBuffered, kTryRecv } from "../src/socket.js";
import { POLLERS } from "./helpers/pollers.js";

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

test("received memory: known as such, and the pieces of one read-ahead join into one view; other memory never", { timeout: 5_000 }, () => {
  const [a, b] = socketpair();
  try {
    const sent = bytes(4096, 3);
    b.sendall(sent);
    const p1 = a[kTryRecv](1024, 65536) as Buffer;
    const p2 = a[kTryRecv](1024, 65536) as Buffer;
    assert.ok(isReceived(p1) && isReceived(p2));
    assert.ok(!isReceived(Buffer.from(p1)), "a copy is not received memory");
    const joined = joinReceived(p1, p2);
    assert.ok(joined !== null);
    assert.deepEqual(joined, sent.subarray(0, 2048));
    const p3 = a[kTryRecv](1024, 65536) as Buffer;
    assert.equal(joinReceived(p1, p3), null, "not adjacent: no join");
    assert.equal(joinReceived(Buffer.from(p2), p3), null, "other memory: no join");
  } finally {
    a.close();
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
