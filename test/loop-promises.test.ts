// The seven numbered promises of the loop (the contract's "Loop semantics that must hold"), one
// group of tests each, in both poller modes where the mode matters. The channels are bare
// ProbeChannels over real sockets, so that every call the loop makes is counted and ordered.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { performance } from "node:perf_hooks";
import * as lib from "../src/index.js";
import {
  type Socket, type SocketMap, Dispatcher, ExitNow, MSG_OOB, MSG_PEEK, closeAll, loop, socketMap, socketpair,
} from "../src/index.js";
import { LIBRARY_URL, runNode } from "./helpers/child-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { ProbeChannel } from "./helpers/probe-channel.js";
import { tcpPair } from "./helpers/tcp-pair.js";

/** Sockets a test made outside any channel, closed with its map at the end. */
class Scope {
  readonly map: SocketMap = new Map();
  readonly log: string[] = [];
  readonly #extra: Socket[] = [];
  keep<T extends Socket[]>(...socks: T): T {
    this.#extra.push(...socks);
    return socks;
  }
  pair(): [Socket, Socket] {
    return this.keep(...socketpair());
  }
  probe(name: string, sock: Socket): ProbeChannel {
    return new ProbeChannel(name, sock, this.map, this.log);
  }
  close(): void {
    closeAll(this.map, true);
    for (const s of this.#extra) s.close();
  }
}

async function scoped(fn: (s: Scope) => Promise<void> | void): Promise<void> {
  const s = new Scope();
  try {
    await fn(s);
  } finally {
    s.close();
  }
}

const DATA = Buffer.from("data");

// ---- 1. readable()/writable() once per channel per pass; no write polling of listeners; idle waits

describe("promise 1: what a pass asks and how it waits", () => {
  for (const mode of POLLERS) {
    test(`readable() and writable() are called once per channel present at the start of each pass, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a] = s.pair();
        const [b, bPeer] = s.pair();
        const [c] = s.pair();
        const busy = s.probe("busy", a);             // always writable: passes do not wait
        const idle = s.probe("idle", b);
        idle.wantRead = false;
        idle.wantWrite = false;
        bPeer.send(DATA);                            // ready, but not wanted
        const listener = s.probe("listener", c);
        listener.accepting = true;
        listener.wantRead = false;
        let late = null as ProbeChannel | null;
        busy.hooks.write = () => {
          // a channel added during a pass is not asked in that pass
          if (late === null) late = s.probe("late", s.pair()[0]);
        };

        await loop({ timeout: 0.01, count: 5, map: s.map, usePoll: mode.usePoll });
        for (const ch of [busy, idle, listener]) {
          assert.equal(ch.readableCalls, 5, `${ch.name}.readable()`);
          assert.equal(ch.writableCalls, 5, `${ch.name}.writable()`);
        }
        assert.ok(late !== null);
        assert.equal(late!.readableCalls, 4, "the late channel is asked from the next pass on");
        assert.equal(late!.writableCalls, 4);
        assert.ok(!s.log.some((e) => e.startsWith("idle.")), "a channel that wants nothing gets no call");
      }));

    test(`an accepting channel is never polled for writing, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        // A connected socket is always writable: if the loop polled it for writing, it would say so.
        const [a] = s.pair();
        const fake = s.probe("fake-listener", a);
        fake.accepting = true;
        fake.wantRead = false;
        fake.wantWrite = true;
        await loop({ timeout: 0.05, count: 3, map: s.map, usePoll: mode.usePoll });
        assert.deepEqual(s.log, []);
        assert.equal(fake.writableCalls, 3, "writable() is still asked, as Python does");

        // A real listener with a connection pending: accepted through a read event, never a write.
        let writes = 0;
        let accepted = 0;
        class Listener extends Dispatcher {
          override writable(): boolean { return true; }
          override handleWriteEvent(): void { writes++; }
          override handleAccepted(sock: Socket): void {
            accepted++;
            sock.close();
          }
        }
        const listener = new Listener(null, s.map);
        listener.createSocket();
        listener.bind(["127.0.0.1", 0]);
        listener.listen(5);
        const client = s.keep(new lib.Socket())[0];
        client.connectEx((listener.socket as Socket).getsockname());
        for (let i = 0; i < 50 && accepted === 0; i++) await loop({ timeout: 0.05, count: 1, map: s.map, usePoll: mode.usePoll });
        assert.equal(accepted, 1);
        assert.equal(writes, 0);
      }));

    test(`a pass in which no channel wants anything waits the timeout while timers run, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a, peer] = s.pair();
        const idle = s.probe("idle", a);
        idle.wantRead = false;
        idle.wantWrite = false;
        peer.send(DATA);  // the socket is readable; nobody asked
        let timerFired = false;
        let loopDone = false;
        let firedBeforeEnd = false;
        setTimeout(() => {
          timerFired = true;
          firedBeforeEnd = !loopDone;
        }, 50);
        const started = performance.now();
        await loop({ timeout: 0.3, count: 1, map: s.map, usePoll: mode.usePoll });
        loopDone = true;
        const elapsed = performance.now() - started;
        assert.ok(elapsed >= 280, `the pass waited ${elapsed.toFixed(1)} ms of 300`);
        assert.ok(elapsed < 3000, `the pass waited ${elapsed.toFixed(1)} ms`);
        assert.ok(timerFired && firedBeforeEnd, "a timer fired while the pass waited");
        assert.deepEqual(s.log, []);
      }));
  }
});

// ---- 2. waiting never blocks Node's event loop

describe("promise 2: Node keeps running while loop() waits", () => {
  for (const mode of POLLERS) {
    test(`timers, immediates, promises and Node's own sockets progress during a long wait, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a, peer] = s.pair();
        const ch = s.probe("waiting", a);
        ch.wantWrite = false;
        ch.hooks.read = () => ch.close();  // the last channel leaves: loop() resolves

        let loopDone = false;
        const started = performance.now();
        const looping = loop({ timeout: 30, map: s.map, usePoll: mode.usePoll }).then(() => { loopDone = true; });

        const seen: string[] = [];
        const immediate = new Promise<void>((resolve) => setImmediate(() => { seen.push("immediate"); resolve(); }));
        const micro = Promise.resolve().then(() => { seen.push("promise"); });
        const timer = new Promise<void>((resolve) => setTimeout(() => { seen.push("timeout"); resolve(); }, 20));
        const echo = new Promise<void>((resolve, reject) => {
          const server = net.createServer((conn) => conn.pipe(conn));
          server.listen(0, "127.0.0.1", () => {
            const { port } = server.address() as net.AddressInfo;
            const client = net.connect(port, "127.0.0.1", () => client.write("ping"));
            client.on("data", (d) => {
              assert.equal(d.toString(), "ping");
              seen.push("net echo");
              client.destroy();
              server.close(() => resolve());
            });
            client.on("error", reject);
          });
        });
        await Promise.all([immediate, micro, timer, echo]);
        assert.equal(loopDone, false, "loop() was still waiting meanwhile");
        assert.deepEqual([...seen].sort(), ["immediate", "net echo", "promise", "timeout"]);

        peer.send(DATA);
        await looping;
        const elapsed = performance.now() - started;
        assert.ok(elapsed < 5000, `loop() ended ${elapsed.toFixed(0)} ms in, long before its 30 s timeout`);
        assert.deepEqual(s.log, ["waiting.read"]);
      }));
  }
});

// ---- 3. when loop() ends, and where handler errors go

describe("promise 3: loop() resolves, rejects, or hands errors to handleError", () => {
  for (const mode of POLLERS) {
    test(`resolves at once on an empty map, and when the last channel leaves, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        let started = performance.now();
        await loop({ timeout: 30, map: s.map, usePoll: mode.usePoll });
        assert.ok(performance.now() - started < 1000, "an empty map ends loop() without a wait");

        const [a] = s.pair();
        const ch = s.probe("only", a);
        ch.wantRead = false;
        ch.hooks.write = () => ch.close();
        started = performance.now();
        await loop({ timeout: 30, map: s.map, usePoll: mode.usePoll });
        assert.ok(performance.now() - started < 5000);
        assert.equal(s.map.size, 0);
        assert.deepEqual(s.log, ["only.write"]);
      }));

    test(`resolves after count passes with channels still in the map, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a] = s.pair();
        const ch = s.probe("busy", a);
        ch.wantRead = false;
        await loop({ timeout: 30, count: 7, map: s.map, usePoll: mode.usePoll });
        assert.equal(ch.readableCalls, 7);
        assert.deepEqual(s.log, Array(7).fill("busy.write"));
        assert.equal(s.map.size, 1);

        await loop({ timeout: 30, count: 0, map: s.map, usePoll: mode.usePoll });
        assert.equal(ch.readableCalls, 7, "count 0: no pass at all");
      }));

    test(`ExitNow thrown by a handler rejects loop() with that very object, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a] = s.pair();
        const ch = s.probe("exiting", a);
        ch.wantRead = false;
        const exit = new ExitNow("enough");
        ch.hooks.write = () => { throw exit; };
        ch.hooks.error = () => assert.fail("ExitNow must not reach handleError");
        await assert.rejects(loop({ timeout: 30, map: s.map, usePoll: mode.usePoll }), (err) => err === exit);
        assert.deepEqual(s.log, ["exiting.write"]);
        assert.equal(s.map.size, 1, "the channel stays; the caller decides");
      }));

    test(`other errors go to that channel's handleError with the very object thrown, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a] = s.pair();
        const [b] = s.pair();
        const bad = s.probe("bad", a);
        const good = s.probe("good", b);
        bad.wantRead = false;
        good.wantRead = false;
        const thrown: unknown[] = [];
        const handled: unknown[] = [];
        bad.hooks.write = () => {
          const err = new TypeError(`oops ${thrown.length}`);
          thrown.push(err);
          throw err;
        };
        bad.hooks.error = (err) => handled.push(err);
        await loop({ timeout: 30, count: 3, map: s.map, usePoll: mode.usePoll });
        assert.equal(thrown.length, 3);
        assert.deepEqual(handled, thrown, "the same objects, in order");
        assert.equal(handled[0], thrown[0]);
        assert.equal(s.log.filter((e) => e === "good.write").length, 3, "the other channel carried on");

        // An error thrown by handleError itself (Python's bare `raise`) ends loop() with it.
        const fatal = new Error("from handleError");
        bad.hooks.error = () => { throw fatal; };
        await assert.rejects(loop({ timeout: 30, count: 3, map: s.map, usePoll: mode.usePoll }), (err) => err === fatal);
      }));
  }
});

// ---- 4. order of handler calls within a pass

/** Two TCP channels, each with normal and out-of-band data waiting and room to write. */
async function twoUrgentChannels(s: Scope): Promise<[ProbeChannel, ProbeChannel]> {
  const channels: ProbeChannel[] = [];
  for (const name of ["A", "B"]) {
    const [mine, peer] = s.keep(...(await tcpPair()));
    peer.send(Buffer.from("x!"), MSG_OOB);  // "x" normal, "!" urgent, in one segment
    assert.equal(mine.recv(1, MSG_PEEK).toString(), "x", "the data has arrived before the pass");
    channels.push(s.probe(name, mine));
  }
  return channels as [ProbeChannel, ProbeChannel];
}

describe("promise 4: select-style and poll-style order", () => {
  test("select-style: all reads, then all writes, then the exceptional events", { timeout: 10_000 }, () =>
    scoped(async (s) => {
      await twoUrgentChannels(s);
      await loop({ timeout: 1, count: 1, map: s.map, usePoll: false });
      assert.deepEqual(s.log, ["A.read", "B.read", "A.write", "B.write", "A.expt", "B.expt"]);
    }));

  test("poll-style: per descriptor, read, write, then priority", { timeout: 10_000 }, () =>
    scoped(async (s) => {
      await twoUrgentChannels(s);
      await loop({ timeout: 1, count: 1, map: s.map, usePoll: true });
      assert.deepEqual(s.log, ["A.read", "A.write", "A.expt", "B.read", "B.write", "B.expt"]);
    }));

  test("a hang-up is a read for a channel that reads (both styles); poll-style closes one that does not, last", { timeout: 10_000 }, () =>
    scoped(async (s) => {
      for (const mode of POLLERS) {
        for (const reads of [true, false]) {
          s.log.length = 0;
          const [mine, peer] = socketpair();
          s.keep(peer);
          peer.send(DATA);
          peer.close();
          const ch = s.probe("H", mine);
          ch.wantRead = reads;
          await loop({ timeout: 1, count: 1, map: s.map, usePoll: mode.usePoll });
          if (reads) {
            // the reader sees the peer's last bytes, then the end of the stream, by itself
            assert.equal(s.log[0], "H.read", s.log.join());
            assert.ok(!s.log.includes("H.close"), s.log.join());
          } else if (mode.usePoll) {
            assert.ok(!s.log.includes("H.read"), s.log.join());
            assert.equal(s.log[s.log.length - 1], "H.close", s.log.join());
          } else {
            assert.ok(!s.log.includes("H.read") && !s.log.includes("H.close"), s.log.join());
          }
          ch.close();
        }
      }
    }));
});

// ---- 5. a channel closed during a pass gets no more calls in it

describe("promise 5: no calls to a channel closed earlier in the same pass", () => {
  for (const mode of POLLERS) {
    test(`a channel closed by another's handler gets no call, nor does a new channel on its fd, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a, aPeer] = s.pair();
        const [b, bPeer] = s.pair();
        aPeer.send(DATA);
        bPeer.send(DATA);
        const A = s.probe("A", a);
        const B = s.probe("B", b);
        const bFd = B.fd;
        let C = null as ProbeChannel | null;
        A.hooks.read = () => {
          if (C !== null) return;
          B.close();
          // Take descriptors until one gets B's number back (the kernel gives the lowest free one).
          for (let i = 0; i < 200 && C === null; i++) {
            const [x, y] = s.pair();
            y.send(DATA);  // the new channel is ready too
            if (x.fileno() === bFd) C = s.probe("C", x);
          }
          assert.ok(C !== null, "a new socket reused B's descriptor");
        };

        await loop({ timeout: 1, count: 1, map: s.map, usePoll: mode.usePoll });
        assert.ok(C !== null);
        assert.equal(s.map.get(bFd), C);
        assert.ok(!s.log.some((e) => e.startsWith("B.")), `B got no call: ${s.log.join()}`);
        assert.ok(!s.log.some((e) => e.startsWith("C.")), `C got no call in that pass: ${s.log.join()}`);
        assert.ok(s.log.includes("A.write"), "A itself carried on");
        assert.equal(C!.readableCalls, 0);

        // The next pass serves the new channel on the reused descriptor.
        s.log.length = 0;
        await loop({ timeout: 1, count: 1, map: s.map, usePoll: mode.usePoll });
        assert.ok(s.log.includes("C.read") && s.log.includes("C.write"), s.log.join());
      }));

    test(`a channel that closes itself in its read handler gets no write call, ${mode.name}`, { timeout: 10_000 }, () =>
      scoped(async (s) => {
        const [a, aPeer] = s.pair();
        aPeer.send(DATA);
        const A = s.probe("A", a);
        A.hooks.read = () => A.close();
        const [b] = s.pair();
        s.probe("B", b).wantRead = false;
        await loop({ timeout: 1, count: 1, map: s.map, usePoll: mode.usePoll });
        assert.deepEqual(s.log.filter((e) => e.startsWith("A.")), ["A.read"]);
        assert.ok(s.log.includes("B.write"));
      }));
  }
});

// ---- 6. nothing keeps the process alive once the map is empty

/** An echo server and client in one script; it prints "resolved" and must then exit by itself. */
const ECHO_SCRIPT = `
import { Dispatcher, DispatcherWithSend, loop } from ${JSON.stringify(LIBRARY_URL)};
const usePoll = process.argv.includes("--poll");
class Echo extends DispatcherWithSend {
  handleRead() { const d = this.recv(8192); if (d.length) this.send(d); }
  handleClose() { this.close(); }
}
class Server extends Dispatcher {
  constructor() { super(); this.createSocket(); this.bind(["127.0.0.1", 0]); this.listen(5); }
  handleAccepted(sock) { new Echo(sock); }
}
const server = new Server();
class Client extends Dispatcher {
  got = "";
  constructor(port) { super(); this.createSocket(); this.connect(["127.0.0.1", port]); this.out = Buffer.from("ping"); }
  handleConnect() {}
  writable() { return this.out.length > 0; }
  handleWrite() { this.out = this.out.subarray(this.send(this.out)); }
  handleRead() {
    this.got += this.recv(100).toString();
    if (this.got === "ping") { process.stdout.write("echoed " + this.got + "\\n"); this.close(); server.close(); }
  }
  handleClose() { this.close(); }
}
new Client(server.socket.getsockname()[1]);
await loop({ usePoll });  // the default 30 s timeout: only an empty map ends this quickly
process.stdout.write("resolved\\n");
`;

describe("promise 6: an emptied map holds the process no longer", () => {
  for (const mode of POLLERS) {
    test(`a script whose channels all closed exits by itself, ${mode.name}`, { timeout: 15_000 }, async () => {
      const r = await runNode(ECHO_SCRIPT, { args: mode.usePoll ? ["--poll"] : [], timeoutMs: 10_000 });
      assert.equal(r.timedOut, false, `the child was still running after 10 s; stdout: ${r.stdout}`);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "echoed ping\nresolved\n");
    });
  }
});

// ---- 7. closeAll() empties socketMap itself

describe("promise 7: closeAll() empties socketMap in place", () => {
  test("closeAll() with no map closes every channel of socketMap and leaves the same Map, empty", { timeout: 5_000 }, () => {
    const before = socketMap;
    const d1 = new Dispatcher();
    d1.createSocket();
    const d2 = new Dispatcher();
    d2.createSocket();
    const [a, b] = socketpair();
    const d3 = new Dispatcher(a);
    // A bare channel whose close() leaves the map alone: only closeAll() can take it out.
    const [c, e] = socketpair();
    const bare: lib.Channel = {
      readable: () => true, writable: () => true,
      handleReadEvent() {}, handleWriteEvent() {}, handleExptEvent() {}, handleError() {}, handleClose() {},
      close: () => c.close(),
    };
    socketMap.set(c.fileno(), bare);
    const socks = [d1.socket, d2.socket, d3.socket, c] as Socket[];
    try {
      assert.equal(socketMap.size, 4);
      closeAll();
      assert.equal(lib.socketMap, before, "still the same Map object");
      assert.equal(before.size, 0);
      for (const s of socks) assert.equal(s.fileno(), -1, "each socket was closed");
    } finally {
      b.close();
      e.close();
      closeAll(undefined, true);
      socketMap.clear();
    }
  });
});
