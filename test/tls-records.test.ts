// How TLS records meet TCP segments on the server side: many records in one segment (one recv()
// brings them all; they must be handed out without the kernel saying readable again), a record
// cut into 1-byte segments, the close_notify arriving in the same segment as the last data, and
// a writer faster than its reader (records made but not yet sent must go out whole, in order).
// The peer is Node's tls client over a stream whose encrypted bytes the test sends as it likes.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { once } from "node:events";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { Dispatcher } from "../src/dispatcher.js";
import type { SocketMap } from "../src/loop.js";
import type { Socket } from "../src/socket.js";
import { TLSContext, TLSDispatcherWithSend } from "../src/tls.js";
import { POLLERS } from "./helpers/pollers.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { EchoServer } from "./helpers/tls-echo.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;

/**
 * Node's tls client whose encrypted output passes straight to the socket until hold() is called;
 * then it is kept, and release() sends what was kept in one write (one TCP segment) or byte by
 * byte.
 */
class HeldClient {
  readonly received: Buffer[] = [];
  receivedBytes = 0;
  #held: Buffer[] = [];
  #holding = false;
  constructor(readonly raw: net.Socket, readonly socket: tls.TLSSocket) {
    socket.on("data", (d: Buffer) => {
      this.received.push(d);
      this.receivedBytes += d.length;
    });
  }

  static async connect(port: number, ca: string): Promise<HeldClient> {
    const raw = net.connect(port, "127.0.0.1");
    raw.setNoDelay(true);
    raw.on("error", () => {});
    let client: HeldClient | null = null;
    const duplex = new Duplex({
      write(chunk: Buffer, _encoding, done) {
        if (client !== null && client.#holding) client.#held.push(chunk);
        else raw.write(chunk);
        done();
      },
      final(done) {
        done();  // the test decides when the TCP end goes
      },
      read() {},
    });
    raw.on("data", (d: Buffer) => duplex.push(d));
    raw.on("end", () => duplex.push(null));
    const socket = tls.connect({ socket: duplex, ca, servername: "localhost" });
    socket.on("error", () => {});
    client = new HeldClient(raw, socket);
    await once(socket, "secureConnect");
    return client;
  }

  hold(): void {
    this.#holding = true;
  }

  /** Each piece as its own record (a write waits for the one before it). */
  async writeRecords(pieces: Buffer[]): Promise<void> {
    for (const p of pieces) await new Promise<void>((resolve, reject) => this.socket.write(p, (err) => (err ? reject(err) : resolve())));
  }

  /** The close_notify, kept like the rest while holding. */
  async endTLS(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.end(resolve));
  }

  kept(): Buffer {
    return Buffer.concat(this.#held);
  }

  /** Sends what was kept in one write; with `fin`, the TCP end right behind it. */
  releaseAtOnce(fin: boolean): void {
    const all = this.kept();
    this.#held.length = 0;
    this.#holding = false;
    if (fin) this.raw.end(all);
    else this.raw.write(all);
  }

  /** Sends what was kept one byte per write, yielding between bytes (each its own segment). */
  async releaseByteByByte(): Promise<void> {
    const all = this.kept();
    this.#held.length = 0;
    this.#holding = false;
    for (let i = 0; i < all.length; i++) {
      this.raw.write(all.subarray(i, i + 1));
      await new Promise((r) => setImmediate(r));
    }
  }

  destroy(): void {
    this.socket.destroy();
    this.raw.destroy();
  }
}

/** Application-data records (type 23) in a run of encrypted bytes. */
function countRecords(bytes: Buffer): number {
  let n = 0;
  for (let off = 0; off + 5 <= bytes.length; off += 5 + bytes.readUInt16BE(off + 3)) if (bytes[off] === 23) n++;
  return n;
}

/** Collects what it reads, `readSize` bytes at a time, and how the stream ended. */
class Sink extends TLSDispatcherWithSend {
  readonly chunks: Buffer[] = [];
  /** undefined while open; null for a clean end (close_notify), else the error. */
  ended: Error | null | undefined = undefined;
  constructor(sock: Socket, ctx: TLSContext, map: SocketMap, readonly readSize: number) {
    super(sock, map);
    this.wrap(ctx, { serverSide: true });
  }
  override handleRead(): void {
    const d = this.recv(this.readSize);
    if (d.length > 0) this.chunks.push(d);
  }
  override handleError(err: unknown): void {
    this.closeError ??= err as Error;
    this.handleClose();
  }
  override handleClose(): void {
    if (this.ended === undefined) this.ended = this.closeError;
    this.close();
  }
}

/** Sends `payload` once secure; the peer reads when it likes. */
class Source extends TLSDispatcherWithSend {
  constructor(sock: Socket, ctx: TLSContext, map: SocketMap, readonly payload: Buffer) {
    super(sock, map);
    this.wrap(ctx, { serverSide: true });
  }
  override handleHandshake(): void {
    this.send(this.payload);
  }
  override handleRead(): void {
    this.recv(65536);
  }
  override handleError(err: unknown): void {
    this.closeError ??= err as Error;
    this.close();
  }
}

class Acceptor extends Dispatcher {
  readonly channels: Dispatcher[] = [];
  constructor(map: SocketMap, readonly make: (sock: Socket) => Dispatcher) {
    super(null, map);
    this.createSocket();
    this.bind(["127.0.0.1", 0]);
    this.listen(16);
  }
  get port(): number {
    return (this.socket as Socket).getsockname()[1] as number;
  }
  override handleAccepted(sock: Socket): void {
    this.channels.push(this.make(sock));
  }
}

function pieces(count: number, max: number): Buffer[] {
  return Array.from({ length: count }, () => crypto.randomBytes(1 + crypto.randomInt(max)));
}

for (const mode of POLLERS) {
  describe(`TLS records and segments, ${mode.name}`, { skip }, () => {
    test("300 records and the close_notify in one segment, no TCP end, read 7 bytes at a time: all data, then a clean end", { timeout: 30_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const sctx = new TLSContext({ cert: c.cert, key: c.key });
      let sink: Sink | null = null;
      const acceptor = new Acceptor(map, (sock) => (sink = new Sink(sock, sctx, map, 7)));
      const running = runUntil(map, mode.usePoll, () => sink?.ended !== undefined, 25_000);
      const client = await HeldClient.connect(acceptor.port, c.cert);
      try {
        const data = pieces(300, 40);
        client.hold();
        await client.writeRecords(data);
        await client.endTLS();
        assert.ok(countRecords(client.kept()) >= 301, "each piece its own record, and the close_notify");
        client.releaseAtOnce(false);
        await running;
        assert.equal(sink!.ended, null, `a clean end expected, got ${String(sink!.ended)}`);
        assert.ok(Buffer.concat(sink!.chunks).equals(Buffer.concat(data)));
      } finally {
        client.destroy();
      }
    });

    test("200 records in one segment and nothing after: echoed in full with recv(16) (no wait on the kernel)", { timeout: 30_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const server = new EchoServer(new TLSContext({ cert: c.cert, key: c.key }), map);
      server.readSize = 16;
      const data = pieces(200, 60);
      const total = data.reduce((n, b) => n + b.length, 0);
      let client: HeldClient | null = null;
      const running = runUntil(map, mode.usePoll, () => client !== null && client.receivedBytes >= total, 25_000);
      client = await HeldClient.connect(server.port, c.cert);
      try {
        client.hold();
        await client.writeRecords(data);
        assert.ok(countRecords(client.kept()) >= 200);
        client.releaseAtOnce(false);
        await running;
        assert.ok(Buffer.concat(client.received).equals(Buffer.concat(data)));
      } finally {
        client.destroy();
      }
    });

    test("records cut into 1-byte segments (a 16 KiB one among small ones): echoed byte for byte", { timeout: 60_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const server = new EchoServer(new TLSContext({ cert: c.cert, key: c.key }), map);
      const data = [crypto.randomBytes(300), crypto.randomBytes(16384), crypto.randomBytes(1), crypto.randomBytes(700)];
      const total = data.reduce((n, b) => n + b.length, 0);
      let client: HeldClient | null = null;
      const running = runUntil(map, mode.usePoll, () => client !== null && client.receivedBytes >= total, 55_000);
      client = await HeldClient.connect(server.port, c.cert);
      try {
        client.hold();
        await client.writeRecords(data);
        assert.equal(countRecords(client.kept()), 4);
        await client.releaseByteByByte();
        await running;
        assert.ok(Buffer.concat(client.received).equals(Buffer.concat(data)));
      } finally {
        client.destroy();
      }
    });

    test("16 MiB to a reader that waits first: what the kernel could not take yet goes out whole and in order", { timeout: 60_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const sctx = new TLSContext({ cert: c.cert, key: c.key });
      const payload = crypto.randomBytes(16 * 1024 * 1024);
      let source: Source | null = null;
      const acceptor = new Acceptor(map, (sock) => (source = new Source(sock, sctx, map, payload)));
      const chunks: Buffer[] = [];
      let got = 0;
      const socket = tls.connect({ host: "127.0.0.1", port: acceptor.port, ca: c.cert, servername: "localhost" });
      socket.on("error", () => {});
      socket.pause();
      socket.on("data", (d: Buffer) => {
        chunks.push(d);
        got += d.length;
      });
      const running = runUntil(map, mode.usePoll, () => got >= payload.length, 55_000);
      try {
        // Until the kernel's buffers are full, the server's writes go out only in part.
        await new Promise((r) => setTimeout(r, 300));
        socket.resume();
        await running;
        assert.equal(source!.closeError, null);
        assert.ok(Buffer.concat(chunks).equals(payload));
      } finally {
        socket.destroy();
      }
    });
  });
}
