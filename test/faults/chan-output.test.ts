// Half-close and the output bound, for DispatcherWithSend and AsyncChat echo servers:
// - a client that sends, shuts its side down (SHUT_WR) and reads to the end gets every byte back
//   (queued output is sent before handleClose());
// - a client that sends and never reads holds the server's queue at outputHighWater (reads stop
//   above it, even when a subclass's readable() says yes, and resume below it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  DispatcherWithSend, SHUT_WR, SOL_SOCKET, SO_RCVBUF, SO_SNDBUF, type Socket, type SocketMap, loop,
} from "../../src/index.js";
import { AsyncChat } from "../../src/asynchat.js";
import { POLLERS } from "../helpers/pollers.js";
import { privateMap } from "../helpers/private-map.js";
import { resetClose } from "./chan-peer.js";
import { tcpPair } from "../helpers/tcp-pair.js";

const T = { timeout: 60_000 };

/** closeError's code; null for none. */
function codeOf(err: Error | null | undefined): string | null {
  return err === null || err === undefined ? null : (err as { code?: string }).code ?? err.message;
}
const MiB = 1024 * 1024;

class WithSendEcho extends DispatcherWithSend {
  closes: (string | null)[] = [];
  override handleRead(): void {
    const d = this.recv(65536);
    if (d.length > 0) this.send(d);
  }
  override handleClose(): void {
    this.closes.push(codeOf(this.closeError));
    this.close();
  }
  queued(): number {
    return this._queued;
  }
}

class WithSendEchoAlwaysReadable extends WithSendEcho {
  override readable(): boolean {
    return true;
  }
}

class ChatEcho extends AsyncChat {
  closes: (string | null)[] = [];
  constructor(sock: Socket, map: SocketMap) {
    super(sock, map);
    this.setTerminator(null);
  }
  override collectIncomingData(data: Buffer): void {
    this.push(data);
  }
  override foundTerminator(): void {}
  override handleClose(): void {
    this.closes.push(codeOf(this.closeError));
    this.close();
  }
  queued(): number {
    return this._producerFifo.bytes;
  }
}

class ChatEchoAlwaysReadable extends ChatEcho {
  override readable(): boolean {
    return true;
  }
}

type Echo = WithSendEcho | ChatEcho;
const KINDS: { name: string; make: (s: Socket, m: SocketMap) => Echo }[] = [
  { name: "DispatcherWithSend", make: (s, m) => new WithSendEcho(s, m) },
  { name: "DispatcherWithSend (readable() always true)", make: (s, m) => new WithSendEchoAlwaysReadable(s, m) },
  { name: "AsyncChat", make: (s, m) => new ChatEcho(s, m) },
  { name: "AsyncChat (readable() always true)", make: (s, m) => new ChatEchoAlwaysReadable(s, m) },
];

function pattern(n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 12)) & 0xff;
  return b;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Sends all of `data` on the non-blocking `sock`, reading what comes back meanwhile (when `reading`). */
async function pump(sock: Socket, data: Buffer, got: Buffer[], opts: { reading: boolean; readChunk?: number; stallMs?: number }): Promise<number> {
  let off = 0;
  let lastProgress = Date.now();
  while (off < data.length) {
    let progressed = false;
    try {
      const n = sock.send(data.subarray(off, Math.min(off + MiB, data.length)));
      off += n;
      progressed = n > 0;
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN") throw err;
    }
    if (opts.reading) progressed = drain(sock, got, opts.readChunk) > 0 || progressed;
    if (progressed) lastProgress = Date.now();
    else if (opts.stallMs !== undefined && Date.now() - lastProgress > opts.stallMs) break;
    await tick();
  }
  return off;
}

/** Reads what is there now (at most `max` bytes); -1 at end of stream. */
function drain(sock: Socket, got: Buffer[], max = Infinity): number {
  let total = 0;
  while (total < max) {
    try {
      const d = sock.recv(Math.min(MiB, max - total));
      if (d.length === 0) return total > 0 ? total : -1;
      got.push(Buffer.from(d));
      total += d.length;
    } catch (err) {
      if ((err as { code?: string }).code !== "EAGAIN") throw err;
      return total;
    }
  }
  return total;
}

async function readToEnd(sock: Socket, got: Buffer[], boundMs = 30_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while (drain(sock, got) !== -1) {
    if (Date.now() > deadline) throw new Error(`no end of stream after ${got.reduce((n, b) => n + b.length, 0)} bytes`);
    await tick();
  }
}

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

for (const mode of POLLERS) {
  for (const kind of KINDS) {
    test(`half-close: every byte comes back before the close, ${kind.name}, ${mode.name}`, T, async () => {
      const map = privateMap();
      const [server, client] = await tcpPair();
      // Small kernel buffers: what the client has not read yet is in the server's queue, not the kernel's.
      server.setsockopt(SOL_SOCKET, SO_SNDBUF, 128 * 1024);
      client.setsockopt(SOL_SOCKET, SO_RCVBUF, 128 * 1024);
      const echo = kind.make(server, map);
      const data = pattern(12 * MiB);
      const got: Buffer[] = [];
      const running = loop({ map, timeout: 5, usePoll: mode.usePoll });
      // The client reads more slowly than it sends: the server has output queued when the input ends.
      await pump(client, data, got, { reading: true, readChunk: 64 * 1024 });
      client.shutdown(SHUT_WR);
      await readToEnd(client, got);
      await running;
      const back = Buffer.concat(got);
      assert.equal(back.length, data.length, `${(back.length / 1e6).toFixed(1)} of ${(data.length / 1e6).toFixed(1)} MB came back`);
      assert.equal(sha(back), sha(data));
      assert.deepEqual(echo.closes, [null]);
      client.close();
    });

    test(`output bound: a client that never reads holds the queue at outputHighWater, ${kind.name}, ${mode.name}`, T, async () => {
      const map = privateMap();
      const [server, client] = await tcpPair();
      const echo = kind.make(server, map);
      let maxQueued = 0;
      const watch = setInterval(() => { maxQueued = Math.max(maxQueued, echo.queued()); }, 1);
      const data = pattern(48 * MiB);
      const got: Buffer[] = [];
      const running = loop({ map, timeout: 5, usePoll: mode.usePoll });
      // Send until TCP holds the client back (the kernel buffers on both sides are full).
      const sent = await pump(client, data, got, { reading: false, stallMs: 300 });
      maxQueued = Math.max(maxQueued, echo.queued());
      assert.ok(maxQueued <= MiB + 128 * 1024, `the server queued ${(maxQueued / MiB).toFixed(1)} MiB (sent ${(sent / MiB).toFixed(1)} MiB)`);
      assert.equal(echo.outputHighWater, MiB);  // the default
      // Now read: reads resume below the bound, and everything sent comes back.
      const rest = pump(client, data.subarray(sent), got, { reading: true }).then(() => client.shutdown(SHUT_WR));
      await rest;
      await readToEnd(client, got);
      await running;
      clearInterval(watch);
      const back = Buffer.concat(got);
      assert.equal(back.length, data.length);
      assert.equal(sha(back), sha(data));
      client.close();
    });
  }
}

test("outputHighWater takes a non-negative number or Infinity", () => {
  const map = privateMap();
  const d = new DispatcherWithSend(null, map);
  d.outputHighWater = Infinity;
  assert.equal(d.outputHighWater, Infinity);
  assert.throws(() => { d.outputHighWater = -1; }, RangeError);
  assert.throws(() => { d.outputHighWater = Number.NaN; }, RangeError);
  const c = new AsyncChat(null, map);
  c.outputHighWater = 0;
  assert.equal(c.outputHighWater, 0);
  assert.throws(() => { c.outputHighWater = "1" as unknown as number; }, RangeError);
});

for (const mode of POLLERS) {
  for (const kind of [KINDS[0]!, KINDS[2]!]) {
    test(`half-close, then the peer resets before the queue is sent: handleClose() with closeError, ${kind.name}, ${mode.name}`, T, async () => {
      const map = privateMap();
      const [server, client] = await tcpPair();
      server.setsockopt(SOL_SOCKET, SO_SNDBUF, 64 * 1024);
      client.setsockopt(SOL_SOCKET, SO_RCVBUF, 64 * 1024);
      const echo = kind.make(server, map);
      const data = pattern(512 * 1024);
      const running = loop({ map, timeout: 5, usePoll: mode.usePoll });
      await pump(client, data, [], { reading: false });
      client.shutdown(SHUT_WR);
      // The server reads to the end of input, and still has output queued: it waits to close.
      const deadline = Date.now() + 10_000;
      while (!(echo.queued() > 0 && echo._holdsInput() && echo.queued() <= echo.outputHighWater)) {
        if (Date.now() > deadline) throw new Error(`the server did not reach the end of input (queued ${echo.queued()})`);
        await new Promise((r) => setTimeout(r, 5));
      }
      assert.deepEqual(echo.closes, [], "no handleClose() while output is queued");
      resetClose(client);
      await running;
      assert.equal(echo.closes.length, 1);
      assert.match(echo.closes[0] ?? "null", /^(ECONNRESET|EPIPE)$/);
    });
  }
}
