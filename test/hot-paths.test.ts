// The hot paths' contracts: recv() and accept() that would block give empty / null (no Error, the
// channel stays open), the default handleAccept() takes several pending connections per event
// (handleAccepted() once each) while a Python-style override still takes one, and AsyncChat's
// pushes in one pass leave in one gather-write.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncChat } from "../src/asynchat.js";
import { AF_INET, Dispatcher, Socket, type Address, type SocketMap, closeAll, loop, socketpair } from "../src/index.js";
import { kTrySendv } from "../src/socket.js";
import { POLLERS } from "./helpers/pollers.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

test("Dispatcher.recv() that would block: an empty Buffer, no handleClose(), still connected", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, other] = socketpair();
  try {
    let closes = 0;
    class Reader extends Dispatcher {
      override handleClose(): void { closes++; this.close(); }
    }
    const d = new Reader(a, map);
    assert.equal(d.recv(100).length, 0);
    assert.equal(closes, 0);
    assert.equal(d.connected, true);
    other.send(b("x"));
    assert.deepEqual(d.recv(100), b("x"));
  } finally {
    closeAll(map);
    other.close();
  }
});

/** A listener on 127.0.0.1 with `n` clients connected and waiting in its accept queue. */
async function listenerWith<T extends Dispatcher>(l: T, n: number): Promise<[T, Socket[]]> {
  l.createSocket(AF_INET);
  l.bind(["127.0.0.1", 0]);
  l.listen(128);
  const clients: Socket[] = [];
  for (let i = 0; i < n; i++) {
    const c = new Socket(AF_INET);
    c.connectEx((l.socket as Socket).getsockname());
    clients.push(c);
  }
  await new Promise((r) => setTimeout(r, 50));  // the handshakes complete in the kernel
  return [l, clients];
}

test("the default handleAccept() takes every pending connection (up to 64) in one event", { timeout: 5_000 }, async () => {
  const map: SocketMap = new Map();
  const accepted: Address[] = [];
  class Listener extends Dispatcher {
    override handleAccepted(sock: Socket, addr: Address): void {
      accepted.push(addr);
      sock.close();
    }
  }
  const [l, clients] = await listenerWith(new Listener(null, map), 70);
  try {
    l.handleAccept();
    assert.equal(accepted.length, 64, "at most 64 per event");
    l.handleAccept();
    assert.equal(accepted.length, 70);
    l.handleAccept();  // none left: would-block gives null, no error
    assert.equal(accepted.length, 70);
    assert.equal(l.accept(), null);
  } finally {
    closeAll(map);
    for (const c of clients) c.close();
  }
});

test("handleAccept() stops when handleAccepted() closes the listener", { timeout: 5_000 }, async () => {
  const map: SocketMap = new Map();
  let accepted = 0;
  class Once extends Dispatcher {
    override handleAccepted(sock: Socket): void {
      accepted++;
      sock.close();
      this.close();
    }
  }
  const [l, clients] = await listenerWith(new Once(null, map), 3);
  try {
    l.handleAccept();
    assert.equal(accepted, 1);
  } finally {
    closeAll(map);
    for (const c of clients) c.close();
  }
});

test("a Python-style handleAccept() that calls accept() once takes one connection per event", { timeout: 5_000 }, async () => {
  const map: SocketMap = new Map();
  const socks: Socket[] = [];
  class PyListener extends Dispatcher {
    override handleAccept(): void {
      const pair = this.accept();
      if (pair !== null) socks.push(pair[0]);
    }
  }
  const [l, clients] = await listenerWith(new PyListener(null, map), 3);
  try {
    l.handleAccept();
    assert.equal(socks.length, 1);
    l.handleAccept();
    l.handleAccept();
    l.handleAccept();
    assert.equal(socks.length, 3);
  } finally {
    closeAll(map);
    for (const c of [...clients, ...socks]) c.close();
  }
});

for (const mode of POLLERS) {
  test(`AsyncChat: the pushes of one pass leave in one gather-write, in order, ${mode.name}`, { timeout: 5_000 }, async () => {
    const map: SocketMap = new Map();
    const [a, peer] = socketpair();
    try {
      class Echo extends AsyncChat {
        lines: Buffer[] = [];
        override collectIncomingData(data: Buffer): void { this.lines.push(data); }
        override foundTerminator(): void {
          for (const piece of this.lines) this.push(piece);
          this.lines = [];
          this.push(b("\n"));
          this.push(b("second\n"));
          assert.equal(this.writable(), false, "output the pass end sends is not waited for");
        }
      }
      const chat = new Echo(a, map);
      chat.setTerminator("\n");
      const sock = a as unknown as Record<typeof kTrySendv, (buffers: readonly Uint8Array[], count: number) => number>;
      const real = sock[kTrySendv].bind(a);
      const calls: number[] = [];
      sock[kTrySendv] = (buffers, count) => {
        calls.push(count);
        return real(buffers, count);
      };
      peer.send(b("first\n"));
      await loop({ map, timeout: 1, count: 1, usePoll: mode.usePoll });
      assert.deepEqual(calls, [3], "one sendmsg of three buffers");
      assert.equal(peer.recv(100).toString(), "first\nsecond\n");
      // From outside a pass, push() sends at once, as Python's.
      chat.push(b("now\n"));
      assert.equal(peer.recv(100).toString(), "now\n");
    } finally {
      closeAll(map);
      peer.close();
    }
  });
}

test("AsyncChat: close() in the pass of a push sends the pushed bytes first", { timeout: 5_000 }, async () => {
  const map: SocketMap = new Map();
  const [a, peer] = socketpair();
  try {
    class Bye extends AsyncChat {
      override collectIncomingData(): void {}
      override foundTerminator(): void {
        this.push(b("bye\n"));
        this.close();
      }
    }
    new Bye(a, map).setTerminator("\n");
    peer.send(b("quit\n"));
    await loop({ map, timeout: 1, count: 1 });
    assert.equal(peer.recv(100).toString(), "bye\n");
    assert.equal(peer.recv(100).length, 0, "then the end of the stream");
  } finally {
    closeAll(map);
    peer.close();
  }
});

test("a gather of a few small pieces (copied and sent in one send()) and a large one (sendmsg) give the same stream, also when the kernel takes part of one", { timeout: 20_000 }, () => {
  const [a, other] = socketpair();
  try {
    const expected: Buffer[] = [];
    let seed = 0;
    const piece = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => (seed = (seed * 31 + 7) & 0xff)));
    // Until the kernel's buffer is full: gathers of 1..8 small pieces, and now and then a large one.
    for (let round = 0; round < 100_000; round++) {
      const list = round % 5 === 4 ? [piece(3000), piece(2000)] : Array.from({ length: 1 + (round % 8) }, (_, i) => piece(1 + ((round * 13 + i * 101) % 500)));
      const whole = Buffer.concat(list);
      const sent = a[kTrySendv](list, list.length);
      if (sent < 0) break;  // would block: nothing taken
      expected.push(whole.subarray(0, sent));
      if (sent < whole.length) break;  // part of it: the stream ends there
    }
    const want = Buffer.concat(expected);
    assert.ok(want.length > 50_000, `the kernel's buffer filled (${want.length} bytes)`);
    const got: Buffer[] = [];
    let n = 0;
    while (n < want.length) {
      const chunk = other.recv(65536);
      got.push(chunk);
      n += chunk.length;
    }
    assert.ok(Buffer.concat(got).equals(want), "every byte in order");
  } finally {
    a.close();
    other.close();
  }
});
