// A burst of connections (src/accept-ahead.ts): a dispatcher's accept() takes everything the kernel
// has queued in one go and hands it out one connection at a time, so the listen backlog does not
// overflow while handlers run; what was taken ahead is served without waiting for the kernel, is
// closed with the listener (or when an unclosed listener is collected), and detach() refuses to
// drop it (nor bytes read ahead). The first listen() grows the descriptor table once.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import { AF_INET, Dispatcher, Socket, type Address, type SocketMap, loop } from "../src/index.js";
import { binding } from "../src/native.js";
import { kBuffered } from "../src/socket.js";
import { LIBRARY_URL, runNode } from "./helpers/child-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";

const T = { timeout: 60_000 };

class Listener extends Dispatcher {
  accepted: Socket[] = [];
  peers: Address[] = [];
  constructor(map: SocketMap, backlog: number) {
    super(null, map);
    this.createSocket(AF_INET);
    this.bind(["127.0.0.1", 0]);
    this.listen(backlog);
  }
  get port(): number {
    return (this.socket!.getsockname() as [string, number])[1];
  }
  override handleAccepted(sock: Socket, addr: Address): void {
    this.accepted.push(sock);
    this.peers.push(addr);
  }
}

/** One accept() per pass, as older Python code writes handle_accept(). */
class OneAtATime extends Listener {
  override handleAccept(): void {
    const pair = this.accept();
    if (pair !== null) this.handleAccepted(pair[0], pair[1]);
  }
}

/** `n` clients whose handshakes the kernel has completed (none accepted yet). */
async function connectMany(port: number, n: number): Promise<net.Socket[]> {
  const clients = Array.from({ length: n }, () => net.connect(port, "127.0.0.1"));
  await Promise.all(clients.map((c) => new Promise<void>((resolve, reject) => c.once("connect", resolve).once("error", reject))));
  return clients;
}

function openFds(): number {
  return fs.readdirSync("/proc/self/fd").length;
}

for (const mode of POLLERS) {
  test(`[${mode.name}] a burst is taken from the kernel in the first pass and handed out 64 per pass, every peer once`, T, async () => {
    const map = privateMap();
    const server = new Listener(map, 512);
    const clients = await connectMany(server.port, 300);
    try {
      await loop({ map, count: 1, timeout: 30, usePoll: mode.usePoll });
      assert.equal(server.accepted.length, 64, "one batch handed out");
      assert.equal(server.socket![kBuffered](), 236, "the rest of the kernel's queue is held ahead");
      // The kernel has nothing left: only the held connections make these passes (a 30 s wait otherwise).
      await loop({ map, count: 4, timeout: 30, usePoll: mode.usePoll });
      assert.equal(server.accepted.length, 300);
      assert.equal(server.socket![kBuffered](), 0);
      const ports = new Set(server.peers.map((p) => (p as [string, number])[1]));
      assert.deepEqual(ports, new Set(clients.map((c) => c.localPort)), "each client exactly once");
      for (const s of server.accepted) assert.equal(s.getpeername()[1], (server.peers[server.accepted.indexOf(s)] as [string, number])[1]);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of server.accepted) s.close();
      server.close();
    }
  });

  test(`[${mode.name}] one accept() per pass (old-style handleAccept) is served from the held connections, in order`, T, async () => {
    const map = privateMap();
    const server = new OneAtATime(map, 128);
    const clients = await connectMany(server.port, 40);
    try {
      await loop({ map, count: 40, timeout: 30, usePoll: mode.usePoll });
      assert.equal(server.accepted.length, 40);
      const order = server.peers.map((p) => (p as [string, number])[1]);
      assert.deepEqual(new Set(order), new Set(clients.map((c) => c.localPort)));
    } finally {
      for (const c of clients) c.destroy();
      for (const s of server.accepted) s.close();
      server.close();
    }
  });
}

test("closing the listener closes the connections it held ahead: their clients see the end, no descriptor stays open", T, async () => {
  const map = privateMap();
  const before = openFds();
  const server = new OneAtATime(map, 128);
  const clients = await connectMany(server.port, 30);
  const ended = clients.map((c) => new Promise<void>((resolve) => { c.on("error", () => {}); c.on("close", () => resolve()); c.resume(); }));
  await loop({ map, count: 1, timeout: 30 });
  assert.equal(server.accepted.length, 1);
  assert.equal(server.socket![kBuffered](), 29);
  server.accepted[0]!.close();
  server.close();
  await Promise.all(ended.slice(1));
  clients[0]!.destroy();
  await ended[0];
  assert.equal(openFds(), before, "every descriptor taken ahead was closed");
});

test("detach() refuses to drop what was taken ahead: connections accepted ahead, bytes read ahead", T, async () => {
  const map = privateMap();
  const server = new OneAtATime(map, 128);
  const clients = await connectMany(server.port, 5);
  try {
    await loop({ map, count: 1, timeout: 30 });
    const sock = server.socket!;
    assert.throws(() => sock.detach(), (err: NodeJS.ErrnoException & { count?: number }) => {
      assert.equal(err.code, "ERR_ASYNCORE_READ_AHEAD");
      assert.equal(err.count, 4);
      assert.match(err.message, /4 connections accepted ahead .* accept\(\) them first/);
      return true;
    });
    assert.ok(sock.fileno() >= 0, "the listener stays open and usable");
    await loop({ map, count: 4, timeout: 30 });
    assert.equal(server.accepted.length, 5);

    // A connected channel whose recv(4) read 100 bytes ahead.
    const reader = new Dispatcher(server.accepted[0]!, map);
    clients[0]!.write(Buffer.alloc(100, 7));
    await new Promise<void>((resolve) => {
      reader.handleRead = () => {
        const got = reader.recv(4);
        if (got.length > 0) resolve();
      };
      void loop({ map, count: 1, timeout: 30 });
    });
    const conn = reader.socket!;
    assert.equal(conn[kBuffered](), 96);
    assert.throws(() => conn.detach(), (err: NodeJS.ErrnoException & { count?: number }) => {
      assert.equal(err.code, "ERR_ASYNCORE_READ_AHEAD");
      assert.equal(err.count, 96);
      assert.match(err.message, /96 bytes read ahead .* recv\(\) them first/);
      return true;
    });
    assert.equal(reader.recv(1000).length, 96, "the bytes are still there");
    const fd = conn.fileno();
    assert.equal(conn.detach(), fd, "nothing held: detach() gives the descriptor up");
    binding.close(fd);
    reader.socket = null;
    map.delete(fd);
  } finally {
    for (const c of clients) c.destroy();
    for (const s of server.accepted) s.close();
    server.close();
  }
});

test("an unclosed listener collected with connections held ahead closes them too (child process)", T, async () => {
  const script = `
import net from "node:net";
import { AF_INET, Dispatcher, loop } from ${JSON.stringify(LIBRARY_URL)};
const map = new Map();
// In a function: a top-level block's bindings may outlive it in the module's context.
async function setup() {
  class L extends Dispatcher { handleAccept() { this.accept()?.[0].close(); } }  // one per pass
  const l = new L(null, map);
  l.createSocket(AF_INET); l.bind(["127.0.0.1", 0]); l.listen(64);
  const port = l.socket.getsockname()[1];
  const clients = Array.from({ length: 10 }, () => net.connect(port, "127.0.0.1"));
  const closed = clients.map((c) => new Promise((r) => { c.on("error", () => {}); c.on("close", r); c.resume(); }));
  await Promise.all(clients.map((c) => new Promise((r) => c.once("connect", r))));
  await loop({ map, count: 1, timeout: 10 });
  if (l.socket.fileno() < 0) throw new Error("the listener was closed");
  return closed;
}
const closed = await setup();
map.clear();  // nothing refers to the listener any more
for (let i = 0; i < 20; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 20)); }
const timer = setTimeout(() => { console.log("still open"); process.exit(1); }, 5000);
await Promise.all(closed);
clearTimeout(timer);
console.log("all closed");
`;
  const r = await runNode(script, { nodeFlags: ["--expose-gc", "--no-warnings"], timeoutMs: 20_000 });
  assert.equal(r.stdout.trim(), "all closed", r.stderr);
});

test("the first listen() grows the descriptor table once (FDSize), bounded by RLIMIT_NOFILE; reserveFds() checks its arguments", T, async () => {
  const script = `
import fs from "node:fs";
import { AF_INET, Socket } from ${JSON.stringify(LIBRARY_URL)};
const fdSize = () => Number(/FDSize:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
const limit = Number(/Max open files\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/limits", "utf8"))[1]);
const before = fdSize();
const s = new Socket(AF_INET);
s.bind(["127.0.0.1", 0]);
s.listen(16);
console.log(JSON.stringify({ before, after: fdSize(), limit }));
s.close();
`;
  for (const ulimit of [null, 3000]) {
    // Node raises its soft limit to the hard one at startup: `ulimit -Hn` lowers both.
    const r = ulimit === null
      ? await runNode(script, { timeoutMs: 20_000 })
      : spawnSync("bash", ["-c", `ulimit -n ${ulimit}; exec "$0" --input-type=module -e "$1"`, process.execPath, script], { encoding: "utf8", timeout: 20_000 });
    const { before, after, limit } = JSON.parse(r.stdout) as { before: number; after: number; limit: number };
    if (ulimit !== null) assert.equal(limit, ulimit);
    const want = Math.min(limit, 65536);
    assert.ok(before < want, `the table starts small (${before})`);
    assert.ok(after >= want, `FDSize ${after} holds ${want} descriptors (limit ${limit})`);
    assert.ok(after <= Math.max(2 * want, 1024), `and not much more (${after})`);
  }
  const s = new Socket(AF_INET);
  try {
    assert.throws(() => binding.reserveFds(s.fileno(), 0), RangeError);
    assert.throws(() => binding.reserveFds(s.fileno(), -5), RangeError);
    assert.throws(() => binding.reserveFds(s.fileno(), "9" as unknown as number), TypeError);
    assert.throws(() => binding.reserveFds(-1, 100), RangeError);
    assert.ok(binding.reserveFds(999_999_999, 100) < 0, "a descriptor that is not open: -EBADF");
    assert.ok(binding.reserveFds(s.fileno(), 2 ** 31 - 1) > 0, "more than the limit: the limit");
  } finally {
    s.close();
  }
});
