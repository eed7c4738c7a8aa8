// A programmable hostile peer over loopback, on Node's own `net` (independent of the code under
// test): a client that connects to a program, or a server a program connects to. Each is driven
// step by step from the test: send, drip one byte at a time, send garbage, half-close (end its
// output while still reading), stop reading, reset (SO_LINGER 0: an RST, not a FIN).
import { createHash, randomBytes } from "node:crypto";
import net from "node:net";
import { once } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";

/** A bound for a race: an unreferenced timer, so that it never holds the process once the race is won. */
const bound = (ms: number): Promise<void> => sleep(ms, undefined, { ref: false });

/** How a peer's connection ended. */
export interface PeerEnd {
  /** Bytes received in all. */
  bytes: number;
  /** True when the other side ended its output cleanly (a FIN was read). */
  gotEnd: boolean;
  /** The socket error's code ("ECONNRESET", "EPIPE"...), or null. */
  error: string | null;
}

/** Every peer still open, for resetAllPeers(). */
const live = new Set<Peer>();
const liveServers = new Set<net.Server>();

/**
 * Resets every peer still open and closes every peer server (an after()/afterEach() hook): a
 * half-open socket left behind by a failed scenario would keep the test process alive.
 */
export async function resetAllPeers(): Promise<void> {
  for (const p of live) p.reset();
  await Promise.all([...liveServers].map((s) => new Promise((r) => s.close(r))));
}

export class Peer {
  readonly chunks: Buffer[] = [];
  bytes = 0;
  gotEnd = false;
  error: string | null = null;
  /** Resolves when the socket is closed (never rejects). */
  readonly closed: Promise<PeerEnd>;
  #waiters: Array<() => void> = [];

  constructor(readonly socket: net.Socket, options: { keep?: boolean } = {}) {
    const keep = options.keep ?? true;
    socket.on("data", (chunk: Buffer) => {
      this.bytes += chunk.length;
      if (keep) this.chunks.push(chunk);
      this.#wake();
    });
    socket.on("end", () => { this.gotEnd = true; this.#wake(); });
    socket.on("error", (err: Error & { code?: string }) => { this.error = err.code ?? err.message; this.#wake(); });
    live.add(this);
    this.closed = new Promise((resolve) => socket.once("close", () => {
      live.delete(this);
      this.#wake();
      resolve({ bytes: this.bytes, gotEnd: this.gotEnd, error: this.error });
    }));
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** Everything received so far. */
  received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Hands `data` to the kernel (resolves once written; rejects if the connection failed). */
  send(data: Buffer | string): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** Sends `data` one byte every `everyMs` (slowloris: keep it to a few bytes in tests). */
  async drip(data: Buffer | string, everyMs: number): Promise<void> {
    const bytes = Buffer.from(data);
    for (let i = 0; i < bytes.length; i++) {
      await this.send(bytes.subarray(i, i + 1));
      if (i + 1 < bytes.length) await sleep(everyMs);
    }
  }

  /** Sends `n` random bytes (returned). */
  async garbage(n: number): Promise<Buffer> {
    const data = randomBytes(n);
    await this.send(data);
    return data;
  }

  /**
   * Writes `chunk` again and again until `max` bytes are sent or the other side has taken nothing
   * for `stallMs` (it stopped reading). Resolves with the bytes given to the socket: those handed
   * to the kernel and the last piece, still queued, that stalled (it goes out if the other side
   * reads again).
   */
  async sendUntilStalled(max: number, stallMs = 500, chunk: Buffer = Buffer.alloc(64 * 1024, 0x61)): Promise<number> {
    let sent = 0;
    while (sent < max && !this.socket.destroyed) {
      const piece = chunk.subarray(0, Math.min(chunk.length, max - sent));
      const flushed = this.send(piece).then(() => true, () => false);
      const result = await Promise.race([flushed, bound(stallMs).then(() => "stalled" as const)]);
      if (!result) break;
      sent += piece.length;
      if (result === "stalled") break;
    }
    return sent;
  }

  /** Half-close: ends this side's output (shutdown SHUT_WR, a FIN) and keeps reading. */
  end(): void {
    this.socket.end();
  }

  /** Stops reading: what the other side sends piles up in the kernel buffers. */
  stopReading(): void {
    this.socket.pause();
  }

  resumeReading(): void {
    this.socket.resume();
  }

  /** Resets the connection: SO_LINGER 0 and close, so the other side gets an RST. */
  reset(): void {
    if (!this.socket.destroyed) this.socket.resetAndDestroy();
  }

  /** Resolves once `n` bytes have arrived (rejects when the connection ends first or after `boundMs`). */
  async waitForBytes(n: number, boundMs = 10_000): Promise<void> {
    const deadline = Date.now() + boundMs;
    while (this.bytes < n) {
      if (this.socket.destroyed || this.gotEnd) throw new Error(`the connection ended after ${this.bytes} of ${n} bytes (error ${this.error})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.bytes} of ${n} bytes arrived within ${boundMs} ms`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), bound(left)]);
    }
  }

  /**
   * Resolves when the other side is done with us: its FIN was read (our output may still be
   * open), or the connection is gone (a reset, an error, closed). Rejects after `boundMs`.
   */
  async waitEnd(boundMs = 10_000): Promise<PeerEnd> {
    const deadline = Date.now() + boundMs;
    while (!this.gotEnd && !this.socket.destroyed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`still open after ${boundMs} ms (${this.bytes} bytes received)`);
      await Promise.race([new Promise<void>((r) => this.#waiters.push(r)), this.closed, bound(left)]);
    }
    return { bytes: this.bytes, gotEnd: this.gotEnd, error: this.error };
  }

  /** Resolves when the connection is closed both ways, or rejects after `boundMs`. */
  async waitClosed(boundMs = 10_000): Promise<PeerEnd> {
    const timer = bound(boundMs).then(() => { throw new Error(`still open after ${boundMs} ms (${this.bytes} bytes received, end ${this.gotEnd})`); });
    return Promise.race([this.closed, timer]);
  }

  /** Closes cleanly (FIN) and waits for the close. */
  async close(): Promise<void> {
    this.socket.end();
    this.socket.destroySoon();
    await this.waitClosed();
  }
}

/** Connects to 127.0.0.1:port (allowHalfOpen: ending our output never closes our input). */
export async function connectPeer(port: number, options: { host?: string; keep?: boolean } = {}): Promise<Peer> {
  const socket = net.connect({ host: options.host ?? "127.0.0.1", port, allowHalfOpen: true });
  const peer = new Peer(socket, options);
  await Promise.race([once(socket, "connect"), peer.closed.then((end) => { throw new Error(`connect to port ${port} failed: ${end.error}`); })]);
  return peer;
}

export interface PeerServer {
  port: number;
  /** The peers accepted so far, in order. */
  peers: Peer[];
  /**
   * The first peer accepted after this call (call it before making the program connect).
   * The promise rejects when none comes within `boundMs`.
   */
  accepted(boundMs?: number): Promise<Peer>;
  /** Stops listening and resets every peer still open. */
  close(): Promise<void>;
}

/** A server on 127.0.0.1, port 0, that a program under test connects to; `onPeer` drives each connection. */
export async function listenPeer(onPeer: (peer: Peer) => void | Promise<void> = () => {}, options: { keep?: boolean } = {}): Promise<PeerServer> {
  const peers: Peer[] = [];
  const waiting: Array<(p: Peer) => void> = [];
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    const peer = new Peer(socket, options);
    peers.push(peer);
    for (const w of waiting.splice(0)) w(peer);
    void Promise.resolve(onPeer(peer)).catch(() => peer.reset());
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  liveServers.add(server);
  server.once("close", () => liveServers.delete(server));
  return {
    port: (server.address() as net.AddressInfo).port,
    peers,
    async accepted(boundMs = 10_000) {
      const got = new Promise<Peer>((resolve) => waiting.push(resolve));
      return Promise.race([got, bound(boundMs).then(() => { throw new Error(`no connection within ${boundMs} ms`); })]);
    },
    async close() {
      for (const p of peers) p.reset();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The SHA-256 of `data` in hex. */
export function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** `n` bytes of a repeating, position-dependent pattern (a lost or reordered piece changes the hash). */
export function pattern(n: number, seed = 0): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return out;
}
