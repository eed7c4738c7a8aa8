// Resets are visible (Dispatcher.closeError), hang-ups reported by the poller (handleCloseEvent),
// and DispatcherWithSend.closeWhenDone().
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  AF_INET, Dispatcher, DispatcherWithSend, POLLERR, POLLHUP, type Socket, loop, socketpair,
} from "../../src/index.js";
import { POLLERS } from "../helpers/pollers.js";
import { privateMap } from "../helpers/private-map.js";
import { resetClose } from "./chan-peer.js";
import { tcpPair } from "../helpers/tcp-pair.js";

const T = { timeout: 15_000 };

/** Reads what comes on a non-blocking socket until end of stream (or the bound). */
export async function readToEnd(sock: Socket, boundMs = 10_000): Promise<Buffer> {
  const parts: Buffer[] = [];
  const deadline = Date.now() + boundMs;
  for (;;) {
    try {
      const d = sock.recv(1 << 20);
      if (d.length === 0) return Buffer.concat(parts);
      parts.push(Buffer.from(d));
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN") throw err;
      if (Date.now() > deadline) throw new Error(`no end of stream after ${parts.reduce((n, p) => n + p.length, 0)} bytes`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

class Closer extends Dispatcher {
  closes: (string | null)[] = [];
  override writable(): boolean {
    return false;
  }
  override handleRead(): void {
    this.recv(65536);
  }
  override handleClose(): void {
    this.closes.push(this.closeError === null ? null : (this.closeError as { code?: string }).code ?? this.closeError.message);
    this.close();
  }
}

for (const mode of POLLERS) {
  test(`closeError is null when the peer ends cleanly, ${mode.name}`, T, async () => {
    const map = privateMap();
    const [a, b] = await tcpPair();
    const d = new Closer(a, map);
    b.send(Buffer.from("bye"));
    b.close();
    await loop({ map, timeout: 5, usePoll: mode.usePoll, count: 20 });
    assert.deepEqual(d.closes, [null]);
  });

  test(`a reset sets closeError (ECONNRESET) before handleClose(), ${mode.name}`, T, async () => {
    const map = privateMap();
    const [a, b] = await tcpPair();
    const d = new Closer(a, map);
    resetClose(b);
    await loop({ map, timeout: 5, usePoll: mode.usePoll, count: 20 });
    assert.deepEqual(d.closes, ["ECONNRESET"]);
  });

  test(`a failed connect sets closeError (ECONNREFUSED), ${mode.name}`, T, async () => {
    const map = privateMap();
    // A port nothing listens on: bind one, note it, close it.
    const probe = new Dispatcher(null, map);
    probe.createSocket(AF_INET);
    probe.bind(["127.0.0.1", 0]);
    const port = (probe.socket as Socket).getsockname()[1] as number;
    probe.close();
    const errors: string[] = [];
    class Client extends Closer {
      override writable(): boolean {
        return !this.connected;
      }
      override handleError(err: unknown): void {
        errors.push((err as { code?: string }).code ?? String(err));
        super.handleError(err);
      }
      override logInfo(): void {}
    }
    const c = new Client(null, map);
    c.createSocket(AF_INET);
    c.connect(["127.0.0.1", port]);
    await loop({ map, timeout: 5, usePoll: mode.usePoll, count: 20 });
    assert.deepEqual(errors, ["ECONNREFUSED"]);
    assert.deepEqual(c.closes, ["ECONNREFUSED"]);
  });
}

test("handleCloseEvent(POLLERR) reads the socket's pending error into closeError", T, async () => {
  const map = privateMap();
  const [a, b] = await tcpPair();
  const d = new Closer(a, map);
  resetClose(b);
  await new Promise((r) => setTimeout(r, 50));
  d.handleCloseEvent(POLLERR | POLLHUP);
  assert.deepEqual(d.closes, ["ECONNRESET"]);
  assert.equal(d.fileno(), null);
});

test("handleCloseEvent(POLLHUP) alone leaves closeError null", T, async () => {
  const map = privateMap();
  const [a, b] = socketpair();
  const d = new Closer(a, map);
  b.close();
  d.handleCloseEvent(POLLHUP);
  assert.deepEqual(d.closes, [null]);
});

test("a new socket sets closeError back to null", T, async () => {
  const map = privateMap();
  const [a, b] = socketpair();
  const d = new Closer(a, map);
  d.closeError = new Error("old");
  d.close();
  b.close();
  const [c, e] = socketpair();
  d.setSocket(c, map);
  assert.equal(d.closeError, null);
  d.close();
  e.close();
});

for (const mode of POLLERS) {
  test(`closeWhenDone() stops reading and closes once the queue is sent, ${mode.name}`, T, async () => {
    const map = privateMap();
    const [a, b] = await tcpPair();
    let asked = 0;
    class Sender extends DispatcherWithSend {
      override readable(): boolean {
        asked++;
        return true;
      }
      override handleRead(): void {
        this.recv(65536);
      }
    }
    const s = new Sender(a, map);
    const payload = Buffer.alloc(4 << 20, 7);
    s.send(payload);
    assert.ok(s.outBuffer.length > 0, "the kernel cannot take 4 MiB at once");
    s.closeWhenDone();
    const [, got] = await Promise.all([loop({ map, timeout: 5, usePoll: mode.usePoll }), readToEnd(b)]);
    assert.equal(got.length, payload.length);
    assert.ok(got.equals(payload));
    // Not polled for reads (even though readable() says yes: it is not asked).
    assert.equal(asked, 0);
    assert.equal(s.fileno(), null);
    b.close();
  });
}

test("closeWhenDone() with nothing queued closes at once", T, () => {
  const map = privateMap();
  const [a, b] = socketpair();
  const s = new DispatcherWithSend(a, map);
  s.closeWhenDone();
  assert.equal(s.fileno(), null);
  assert.equal(map.size, 0);
  b.close();
});

// What send() keeps: a copy of a caller's bytes, but a received Buffer as it is (the library never
// writes to memory it handed out; the caller who changes one after send() changes what is sent).
test("DispatcherWithSend.send() copies the caller's Buffer; a received Buffer is queued as it is", T, async () => {
  const map = privateMap();
  const [a, b] = await tcpPair();
  const [c, e] = socketpair();
  const s = new DispatcherWithSend(a, map);
  const r = new Dispatcher(c, privateMap());
  e.send(Buffer.from("received"));
  await new Promise((res) => setTimeout(res, 20));
  const received = r.recv(100);
  assert.equal(received.toString(), "received");
  const big = Buffer.alloc(8 << 20, 1);
  s.send(big);  // the kernel cannot take it all: what follows waits in the queue
  assert.ok(s.outBuffer.length > 0);
  const mine = Buffer.from("caller's");
  s.send(mine);
  s.send(received);
  mine.fill(0x2d);
  received.fill(0x2b);
  s.closeWhenDone();
  const [, got] = await Promise.all([loop({ map, timeout: 5 }), readToEnd(b)]);
  assert.equal(got.length, big.length + 16);
  assert.equal(got.subarray(big.length).toString(), "caller's++++++++");
  r.close();
  e.close();
  b.close();
});
