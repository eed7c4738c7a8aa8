// The socket layer on its own: Socket and socketpair over AF_INET, AF_INET6 and AF_UNIX, stream and
// datagram, as Python's socket module behaves under asyncore (non-blocking, close-on-exec, errors in
// Node's shape, connectEx's positive errno, no SIGPIPE).
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { setImmediate as tick } from "node:timers/promises";
import {
  AF_INET, AF_INET6, AF_UNIX, IPPROTO_TCP, MSG_OOB, MSG_PEEK, POLLIN, POLLOUT, POLLPRI, SHUT_RD, SHUT_RDWR, SHUT_WR,
  SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_ERROR, SO_KEEPALIVE, SO_LINGER, SO_RCVBUF, SO_REUSEADDR, SO_REUSEPORT,
  SO_SNDBUF, SO_TYPE, Socket, TCP_NODELAY, socketpair,
} from "../src/index.js";
import { binding } from "../src/native.js";

const E = os.constants.errno;
const T = { timeout: 10_000 };

/** Resolves once `sock` reports any of `events` (poll(2) bits), without blocking Node's loop. */
async function ready(sock: Socket, events: number, ms = 5_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const r = binding.pollNow(sock.fileno(), events);
    assert.ok(r >= 0, `pollNow failed: ${r}`);
    if (r & events) return r;
    if (Date.now() > deadline) throw new Error(`fd ${sock.fileno()} not ready for ${events} within ${ms} ms`);
    await tick();
  }
}

/** Reads exactly n bytes from a non-blocking socket. */
async function recvExactly(sock: Socket, n: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let got = 0;
  while (got < n) {
    await ready(sock, POLLIN);
    const chunk = sock.recv(n - got);
    if (chunk.length === 0) break;
    parts.push(chunk);
    got += chunk.length;
  }
  return Buffer.concat(parts);
}

/** A connected TCP pair over loopback: [client, server side]. */
async function tcpPair(family = AF_INET): Promise<[Socket, Socket, Socket]> {
  const host = family === AF_INET ? "127.0.0.1" : "::1";
  const listener = new Socket(family);
  listener.bind([host, 0]);
  listener.listen(5);
  const port = listener.getsockname()[1] as number;
  const client = new Socket(family);
  const err = client.connectEx([host, port]);
  assert.ok(err === 0 || err === E.EINPROGRESS, `connectEx gave ${err}`);
  await ready(listener, POLLIN);
  const [server] = listener.accept();
  await ready(client, POLLOUT);
  assert.equal(client.getsockopt(SOL_SOCKET, SO_ERROR), 0);
  return [client, server, listener];
}

function closeAllOf(...socks: Socket[]): void {
  for (const s of socks) s.close();
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "asyncore-socket-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let unixCount = 0;
const unixPath = (): string => path.join(tmp, `s${unixCount++}.sock`);

const hasIPv6 = ((): boolean => {
  try {
    const s = new Socket(AF_INET6);
    try {
      s.bind(["::1", 0]);
      return true;
    } finally {
      s.close();
    }
  } catch {
    return false;
  }
})();
const ipv6 = hasIPv6 ? {} : { skip: "no IPv6 loopback (::1) on this machine" };

describe("new sockets", () => {
  for (const [name, family] of [["AF_INET", AF_INET], ["AF_INET6", AF_INET6], ["AF_UNIX", AF_UNIX]] as const) {
    for (const [tname, type] of [["SOCK_STREAM", SOCK_STREAM], ["SOCK_DGRAM", SOCK_DGRAM]] as const) {
      test(`${name} ${tname}: non-blocking, close-on-exec, family/type kept`, { ...T, ...(family === AF_INET6 ? ipv6 : {}) }, () => {
        const s = new Socket(family, type);
        try {
          assert.equal(s.family, family);
          assert.equal(s.type, type);
          assert.ok(s.fileno() >= 0);
          assert.equal(s.gettimeout(), 0);
          assert.equal(s.getInheritable(), false);
          assert.equal(s.getsockopt(SOL_SOCKET, SO_TYPE), type);
        } finally {
          s.close();
        }
      });
    }
  }

  test("setblocking switches gettimeout between null and 0", T, () => {
    const s = new Socket();
    try {
      s.setblocking(true);
      assert.equal(s.gettimeout(), null);
      s.setblocking(false);
      assert.equal(s.gettimeout(), 0);
    } finally {
      s.close();
    }
  });

  test("defaults are AF_INET, SOCK_STREAM", T, () => {
    const s = new Socket();
    try {
      assert.equal(s.family, AF_INET);
      assert.equal(s.type, SOCK_STREAM);
    } finally {
      s.close();
    }
  });
});

describe("bind, listen, accept", () => {
  test("accept with nothing pending throws code EAGAIN", T, () => {
    const l = new Socket();
    try {
      l.bind(["127.0.0.1", 0]);
      l.listen(5);
      assert.throws(() => l.accept(), (err: NodeJS.ErrnoException) =>
        (err.code === "EAGAIN" || err.code === "EWOULDBLOCK") && err.syscall === "accept" && err.errno === -E.EAGAIN);
    } finally {
      l.close();
    }
  });

  test("AF_INET: accept returns a non-blocking, close-on-exec Socket and the peer's [host, port]", T, async () => {
    const [client, server, listener] = await tcpPair(AF_INET);
    try {
      assert.ok(server instanceof Socket);
      assert.equal(server.family, AF_INET);
      assert.equal(server.gettimeout(), 0);
      assert.equal(server.getInheritable(), false);
      assert.deepEqual(server.getpeername(), client.getsockname());
      assert.deepEqual(client.getpeername(), server.getsockname());
      const name = listener.getsockname();
      assert.ok(Array.isArray(name) && name.length === 2);
      assert.equal(name[0], "127.0.0.1");
      assert.ok(Number.isInteger(name[1]) && name[1] > 0);
    } finally {
      closeAllOf(client, server, listener);
    }
  });

  test("AF_INET6: addresses are [host, port, flowinfo, scopeId]", { ...T, ...ipv6 }, async () => {
    const [client, server, listener] = await tcpPair(AF_INET6);
    try {
      const name = listener.getsockname() as readonly [string, number, number, number];
      assert.equal(name.length, 4);
      assert.equal(name[0], "::1");
      assert.ok(name[1] > 0);
      assert.equal(name[2], 0);
      assert.equal(name[3], 0);
      const peer = server.getpeername() as readonly [string, number, number, number];
      assert.equal(peer.length, 4);
      assert.deepEqual(peer, client.getsockname());
    } finally {
      closeAllOf(client, server, listener);
    }
  });

  test("AF_UNIX stream: bind to a path, connect, accept; names are paths", T, async () => {
    const p = unixPath();
    const l = new Socket(AF_UNIX);
    const c = new Socket(AF_UNIX);
    let s: Socket | undefined;
    try {
      l.bind(p);
      l.listen(5);
      assert.equal(l.getsockname(), p);
      assert.ok(fs.statSync(p).isSocket());
      assert.throws(() => l.accept(), { code: "EAGAIN" });
      const err = c.connectEx(p);
      assert.ok(err === 0 || err === E.EINPROGRESS);
      await ready(l, POLLIN);
      const [server, addr] = l.accept();
      s = server;
      assert.equal(typeof addr, "string");   // an unnamed client: ""
      assert.equal(addr, "");
      assert.equal(c.getpeername(), p);
      assert.equal(s.getsockname(), p);
      assert.equal(c.send(Buffer.from("over unix")), 9);
      assert.equal((await recvExactly(s, 9)).toString(), "over unix");
    } finally {
      closeAllOf(l, c, ...(s ? [s] : []));
    }
  });

  test("binding a port in use throws EADDRINUSE with the address in the message", T, () => {
    const a = new Socket();
    const b = new Socket();
    try {
      a.bind(["127.0.0.1", 0]);
      a.listen(1);
      const port = a.getsockname()[1] as number;
      assert.throws(() => b.bind(["127.0.0.1", port]), (err: NodeJS.ErrnoException) =>
        err.code === "EADDRINUSE" && err.errno === -E.EADDRINUSE && err.syscall === "bind" && err.message.includes(String(port)));
    } finally {
      closeAllOf(a, b);
    }
  });

  test("SO_REUSEPORT lets two sockets bind the same port", { ...T, ...(SO_REUSEPORT < 0 ? { skip: "no SO_REUSEPORT" } : {}) }, () => {
    const a = new Socket();
    const b = new Socket();
    try {
      a.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
      b.setsockopt(SOL_SOCKET, SO_REUSEPORT, true);
      assert.notEqual(a.getsockopt(SOL_SOCKET, SO_REUSEPORT), 0);
      assert.notEqual(b.getsockopt(SOL_SOCKET, SO_REUSEPORT), 0);
      a.bind(["127.0.0.1", 0]);
      const port = a.getsockname()[1] as number;
      b.bind(["127.0.0.1", port]);
      assert.equal(b.getsockname()[1], port);
    } finally {
      closeAllOf(a, b);
    }
  });
});

describe("connect and connectEx", () => {
  test("a non-blocking connect: connectEx gives EINPROGRESS, connect throws code EINPROGRESS", T, async () => {
    const l = new Socket();
    const a = new Socket();
    const b = new Socket();
    try {
      l.bind(["127.0.0.1", 0]);
      l.listen(5);
      const addr = ["127.0.0.1", l.getsockname()[1] as number] as const;
      assert.equal(a.connectEx(addr), E.EINPROGRESS);
      assert.throws(() => b.connect(addr), (err: NodeJS.ErrnoException) =>
        err.code === "EINPROGRESS" && err.errno === -E.EINPROGRESS && err.syscall === "connect");
      await ready(a, POLLOUT);
      assert.equal(a.getsockopt(SOL_SOCKET, SO_ERROR), 0);
      // Linux reports the finished connect once (0), then EISCONN, as Python's connect_ex shows.
      const again = a.connectEx(addr);
      assert.ok(again === 0 || again === E.EISCONN, `got ${again}`);
      assert.equal(a.connectEx(addr), E.EISCONN);
    } finally {
      closeAllOf(l, a, b);
    }
  });

  test("a refused connection: connectEx's positive errno equals os.constants.errno.ECONNREFUSED", T, async () => {
    // A bound socket that does not listen: its port refuses connections, and no one else can take it.
    const closed = new Socket();
    const blocking = new Socket();
    const nonblocking = new Socket();
    const thrower = new Socket();
    try {
      closed.bind(["127.0.0.1", 0]);
      const addr = ["127.0.0.1", closed.getsockname()[1] as number] as const;
      blocking.setblocking(true);
      assert.equal(blocking.connectEx(addr), E.ECONNREFUSED);
      // Non-blocking: the refusal comes later, through SO_ERROR.
      const first = nonblocking.connectEx(addr);
      assert.ok(first === E.EINPROGRESS || first === E.ECONNREFUSED, `got ${first}`);
      if (first === E.EINPROGRESS) {
        await ready(nonblocking, POLLOUT);
        assert.equal(nonblocking.getsockopt(SOL_SOCKET, SO_ERROR), E.ECONNREFUSED);
        assert.equal(nonblocking.getsockopt(SOL_SOCKET, SO_ERROR), 0, "reading SO_ERROR clears it");
      }
      thrower.setblocking(true);
      assert.throws(() => thrower.connect(addr), (err: NodeJS.ErrnoException) =>
        err instanceof Error && err.code === "ECONNREFUSED" && err.errno === -E.ECONNREFUSED && err.syscall === "connect");
    } finally {
      closeAllOf(closed, blocking, nonblocking, thrower);
    }
  });

  test("connecting an AF_UNIX socket to a missing path gives ENOENT", T, () => {
    const s = new Socket(AF_UNIX);
    try {
      assert.equal(s.connectEx(path.join(tmp, "nobody-here")), E.ENOENT);
      assert.throws(() => s.connect(path.join(tmp, "nobody-here")), { code: "ENOENT" });
    } finally {
      s.close();
    }
  });
});

describe("send and recv", () => {
  test("recv returns at most n bytes, in order", T, async () => {
    const [a, b] = socketpair();
    try {
      const data = Buffer.from("0123456789abcdefghij");
      assert.equal(a.send(data), data.length);
      await ready(b, POLLIN);
      const parts: string[] = [];
      for (const n of [1, 3, 5, 100]) {
        const got = b.recv(n);
        assert.ok(got.length <= n, `recv(${n}) gave ${got.length}`);
        parts.push(got.toString());
      }
      assert.equal(parts.join(""), data.toString());
      assert.throws(() => b.recv(10), { code: "EAGAIN" });
    } finally {
      closeAllOf(a, b);
    }
  });

  test("recv(0) returns an empty Buffer; end of stream reads as empty", T, async () => {
    const [a, b] = socketpair();
    try {
      a.send(Buffer.from("x"));
      await ready(b, POLLIN);
      assert.equal(b.recv(0).length, 0);
      assert.equal(b.recv(10).toString(), "x");
      a.close();
      await ready(b, POLLIN);
      const eof = b.recv(10);
      assert.ok(Buffer.isBuffer(eof));
      assert.equal(eof.length, 0);
    } finally {
      closeAllOf(a, b);
    }
  });

  test("send takes any Uint8Array view, honouring its offset", T, async () => {
    const [a, b] = socketpair();
    try {
      const backing = new Uint8Array([1, 2, 3, 4, 5, 6]);
      assert.equal(a.send(backing.subarray(2, 5)), 3);
      assert.deepEqual([...(await recvExactly(b, 3))], [3, 4, 5]);
    } finally {
      closeAllOf(a, b);
    }
  });

  test("send on a full buffer throws code EAGAIN; what was taken arrives intact", T, async () => {
    const [a, b] = socketpair();
    try {
      const chunk = Buffer.alloc(65536, 0xab);
      let sent = 0;
      let blocked: NodeJS.ErrnoException | undefined;
      for (let i = 0; i < 10_000 && !blocked; i++) {
        try {
          sent += a.send(chunk);
        } catch (err) {
          blocked = err as NodeJS.ErrnoException;
        }
      }
      assert.ok(blocked, "the socket never filled");
      assert.ok(blocked.code === "EAGAIN" || blocked.code === "EWOULDBLOCK");
      assert.equal(blocked.syscall, "send");
      let got = 0;
      while (got < sent) {
        await ready(b, POLLIN);
        const data = b.recv(1 << 20);
        assert.ok(data.every((x) => x === 0xab));
        got += data.length;
      }
      assert.equal(got, sent);
    } finally {
      closeAllOf(a, b);
    }
  });

  test("MSG_PEEK leaves the data queued", T, async () => {
    const [a, b] = socketpair();
    try {
      a.send(Buffer.from("peekaboo"));
      await ready(b, POLLIN);
      assert.equal(b.recv(4, MSG_PEEK).toString(), "peek");
      assert.equal(b.recv(100, MSG_PEEK).toString(), "peekaboo");
      assert.equal(b.recv(100).toString(), "peekaboo");
    } finally {
      closeAllOf(a, b);
    }
  });

  test("MSG_OOB: urgent data is signalled by POLLPRI and read with recv(n, MSG_OOB)", T, async () => {
    const [client, server, listener] = await tcpPair();
    try {
      assert.equal(client.send(Buffer.from("normal")), 6);
      assert.equal(client.send(Buffer.from("!"), MSG_OOB), 1);
      const revents = await ready(server, POLLPRI);
      assert.ok(revents & POLLPRI);
      assert.equal(server.recv(1, MSG_OOB).toString(), "!");
      assert.equal((await recvExactly(server, 6)).toString(), "normal");
    } finally {
      closeAllOf(client, server, listener);
    }
  });

  test("sendall sends everything", T, async () => {
    const [a, b] = socketpair();
    try {
      const data = Buffer.from("all of it");
      a.sendall(data);
      assert.equal((await recvExactly(b, data.length)).toString(), "all of it");
    } finally {
      closeAllOf(a, b);
    }
  });
});

describe("no SIGPIPE", () => {
  // Node ignores SIGPIPE itself, so a listener is the way to notice one being raised.
  function watchSigpipe(): { count: () => number; stop: () => void } {
    let n = 0;
    const onPipe = (): void => { n++; };
    process.on("SIGPIPE", onPipe);
    return { count: () => n, stop: () => process.off("SIGPIPE", onPipe) };
  }

  test("send to a closed AF_UNIX peer throws EPIPE and raises no signal", T, async () => {
    const sig = watchSigpipe();
    const [a, b] = socketpair();
    try {
      b.close();
      assert.throws(() => a.send(Buffer.from("anyone?")), (err: NodeJS.ErrnoException) =>
        err.code === "EPIPE" && err.errno === -E.EPIPE && err.syscall === "send");
      await tick();
      assert.equal(sig.count(), 0);
    } finally {
      sig.stop();
      closeAllOf(a, b);
    }
  });

  test("send to a closed TCP peer ends in EPIPE or ECONNRESET and raises no signal", T, async () => {
    const sig = watchSigpipe();
    const [client, server, listener] = await tcpPair();
    try {
      server.close();
      let failure: NodeJS.ErrnoException | undefined;
      const deadline = Date.now() + 5_000;
      while (!failure && Date.now() < deadline) {
        try {
          client.send(Buffer.from("still there?"));
          await ready(client, POLLIN);  // the peer's RST
        } catch (err) {
          failure = err as NodeJS.ErrnoException;
        }
      }
      assert.ok(failure, "send kept succeeding");
      assert.ok(failure.code === "EPIPE" || failure.code === "ECONNRESET", failure.code);
      await tick();
      assert.equal(sig.count(), 0);
    } finally {
      sig.stop();
      closeAllOf(client, server, listener);
    }
  });
});

describe("datagrams", () => {
  test("AF_INET: sendto/recvfrom give the sender's [host, port]", T, async () => {
    const a = new Socket(AF_INET, SOCK_DGRAM);
    const b = new Socket(AF_INET, SOCK_DGRAM);
    try {
      a.bind(["127.0.0.1", 0]);
      b.bind(["127.0.0.1", 0]);
      assert.equal(a.sendto(Buffer.from("datagram"), b.getsockname()), 8);
      await ready(b, POLLIN);
      const [data, from] = b.recvfrom(100);
      assert.equal(data.toString(), "datagram");
      assert.deepEqual(from, a.getsockname());
    } finally {
      closeAllOf(a, b);
    }
  });

  test("recvfrom truncates a datagram to n bytes; the rest is dropped", T, async () => {
    const a = new Socket(AF_INET, SOCK_DGRAM);
    const b = new Socket(AF_INET, SOCK_DGRAM);
    try {
      b.bind(["127.0.0.1", 0]);
      a.sendto(Buffer.from("0123456789"), b.getsockname());
      a.sendto(Buffer.from("next"), b.getsockname());
      await ready(b, POLLIN);
      assert.equal(b.recvfrom(4)[0].toString(), "0123");
      await ready(b, POLLIN);
      assert.equal(b.recv(100).toString(), "next");
    } finally {
      closeAllOf(a, b);
    }
  });

  test("AF_INET6: recvfrom gives a 4-element address", { ...T, ...ipv6 }, async () => {
    const a = new Socket(AF_INET6, SOCK_DGRAM);
    const b = new Socket(AF_INET6, SOCK_DGRAM);
    try {
      a.bind(["::1", 0]);
      b.bind(["::1", 0]);
      const to = b.getsockname();
      assert.equal((to as readonly unknown[]).length, 4);
      a.sendto(Buffer.from("six"), to);
      await ready(b, POLLIN);
      const [data, from] = b.recvfrom(100);
      assert.equal(data.toString(), "six");
      assert.equal((from as readonly unknown[]).length, 4);
      assert.deepEqual(from, a.getsockname());
    } finally {
      closeAllOf(a, b);
    }
  });

  test("AF_UNIX datagrams: recvfrom gives the sender's path", T, async () => {
    const pa = unixPath();
    const pb = unixPath();
    const a = new Socket(AF_UNIX, SOCK_DGRAM);
    const b = new Socket(AF_UNIX, SOCK_DGRAM);
    try {
      a.bind(pa);
      b.bind(pb);
      assert.equal(a.sendto(Buffer.from("unix dgram"), pb), 10);
      await ready(b, POLLIN);
      const [data, from] = b.recvfrom(100);
      assert.equal(data.toString(), "unix dgram");
      assert.equal(from, pa);
    } finally {
      closeAllOf(a, b);
    }
  });

  test("connected datagram sockets use send/recv", T, async () => {
    const a = new Socket(AF_INET, SOCK_DGRAM);
    const b = new Socket(AF_INET, SOCK_DGRAM);
    try {
      b.bind(["127.0.0.1", 0]);
      a.connect(b.getsockname());  // UDP connect completes at once
      assert.equal(a.send(Buffer.from("udp")), 3);
      await ready(b, POLLIN);
      assert.equal(b.recv(10).toString(), "udp");
    } finally {
      closeAllOf(a, b);
    }
  });
});

describe("socketpair", () => {
  test("default: connected AF_UNIX SOCK_STREAM pair, both ways", T, async () => {
    const [a, b] = socketpair();
    try {
      assert.equal(a.family, AF_UNIX);
      assert.equal(a.type, SOCK_STREAM);
      for (const s of [a, b]) {
        assert.equal(s.gettimeout(), 0);
        assert.equal(s.getInheritable(), false);
      }
      a.send(Buffer.from("ping"));
      assert.equal((await recvExactly(b, 4)).toString(), "ping");
      b.send(Buffer.from("pong"));
      assert.equal((await recvExactly(a, 4)).toString(), "pong");
    } finally {
      closeAllOf(a, b);
    }
  });

  test("SOCK_DGRAM pair keeps message boundaries", T, async () => {
    const [a, b] = socketpair(AF_UNIX, SOCK_DGRAM);
    try {
      assert.equal(a.type, SOCK_DGRAM);
      a.send(Buffer.from("one"));
      a.send(Buffer.from("two"));
      await ready(b, POLLIN);
      assert.equal(b.recv(100).toString(), "one");
      assert.equal(b.recv(100).toString(), "two");
    } finally {
      closeAllOf(a, b);
    }
  });

  test("an AF_INET pair is refused by the kernel with a system error", T, () => {
    assert.throws(() => socketpair(AF_INET), (err: NodeJS.ErrnoException) =>
      typeof err.code === "string" && typeof err.errno === "number" && err.errno < 0 && err.syscall === "socketpair");
  });
});

describe("socket options", () => {
  test("SO_REUSEADDR: integer and boolean values, read back", T, () => {
    const s = new Socket();
    try {
      assert.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
      assert.notEqual(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, false);
      assert.equal(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
      s.setsockopt(SOL_SOCKET, SO_REUSEADDR, true);
      assert.notEqual(s.getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
    } finally {
      s.close();
    }
  });

  test("TCP_NODELAY and SO_KEEPALIVE", T, () => {
    const s = new Socket();
    try {
      assert.equal(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
      s.setsockopt(IPPROTO_TCP, TCP_NODELAY, 1);
      assert.notEqual(s.getsockopt(IPPROTO_TCP, TCP_NODELAY), 0);
      s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1);
      assert.notEqual(s.getsockopt(SOL_SOCKET, SO_KEEPALIVE), 0);
    } finally {
      s.close();
    }
  });

  test("SO_SNDBUF and SO_RCVBUF take a size and read back at least that", T, () => {
    const s = new Socket();
    try {
      for (const opt of [SO_SNDBUF, SO_RCVBUF]) {
        assert.ok(s.getsockopt(SOL_SOCKET, opt) > 0);
        s.setsockopt(SOL_SOCKET, opt, 32768);
        const v = s.getsockopt(SOL_SOCKET, opt);
        assert.ok(v >= 32768, `option ${opt} read back ${v}`);  // Linux doubles it for bookkeeping
      }
    } finally {
      s.close();
    }
  });

  test("SO_LINGER: set from a Uint8Array struct, read back raw and as its first int", T, () => {
    const s = new Socket();
    try {
      const off = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
      assert.ok(Buffer.isBuffer(off));
      assert.equal(off.readInt32LE(0) | off.readInt32BE(0), 0);
      assert.equal(s.getsockopt(SOL_SOCKET, SO_LINGER), 0);
      // struct linger { int l_onoff; int l_linger; } in the machine's byte order
      const linger = new Uint8Array(new Int32Array([1, 7]).buffer);
      s.setsockopt(SOL_SOCKET, SO_LINGER, linger);
      const raw = s.getsockopt(SOL_SOCKET, SO_LINGER, 8);
      const ints = new Int32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + 8));
      assert.notEqual(ints[0], 0);
      assert.equal(ints[1], 7);
      assert.notEqual(s.getsockopt(SOL_SOCKET, SO_LINGER), 0);
    } finally {
      s.close();
    }
  });

  test("SO_ERROR is 0 on a healthy socket", T, () => {
    const s = new Socket();
    try {
      assert.equal(s.getsockopt(SOL_SOCKET, SO_ERROR), 0);
      assert.equal(s.pendingError(), 0);
    } finally {
      s.close();
    }
  });

  test("an unknown option fails with a system error, not a crash", T, () => {
    const s = new Socket();
    try {
      assert.throws(() => s.getsockopt(SOL_SOCKET, 9999), (err: NodeJS.ErrnoException) =>
        err.code === "ENOPROTOOPT" && err.syscall === "getsockopt");
      assert.throws(() => s.setsockopt(SOL_SOCKET, 9999, 1), { code: "ENOPROTOOPT", syscall: "setsockopt" });
    } finally {
      s.close();
    }
  });
});

describe("shutdown", () => {
  test("SHUT_WR: the peer reads end of stream, the other direction still works", T, async () => {
    const [client, server, listener] = await tcpPair();
    try {
      client.send(Buffer.from("last words"));
      client.shutdown(SHUT_WR);
      assert.equal((await recvExactly(server, 10)).toString(), "last words");
      await ready(server, POLLIN);
      assert.equal(server.recv(100).length, 0);
      assert.throws(() => client.send(Buffer.from("more")), { code: "EPIPE" });
      server.send(Buffer.from("reply"));
      assert.equal((await recvExactly(client, 5)).toString(), "reply");
    } finally {
      closeAllOf(client, server, listener);
    }
  });

  test("SHUT_RD and SHUT_RDWR; shutdown of an unconnected socket gives ENOTCONN", T, async () => {
    const [a, b] = socketpair();
    const lone = new Socket();
    try {
      a.shutdown(SHUT_RD);
      await ready(a, POLLIN);
      assert.equal(a.recv(10).length, 0);
      b.shutdown(SHUT_RDWR);
      assert.throws(() => lone.shutdown(SHUT_RDWR), { code: "ENOTCONN", syscall: "shutdown" });
    } finally {
      closeAllOf(a, b, lone);
    }
  });
});

describe("closed sockets", () => {
  test("close twice is harmless; fileno() is -1 afterwards", T, () => {
    const s = new Socket();
    assert.ok(s.fileno() >= 0);
    s.close();
    assert.equal(s.fileno(), -1);
    s.close();
    assert.equal(s.fileno(), -1);
  });

  test("closing one Socket twice never closes a descriptor that reused its number", T, () => {
    const a = new Socket();
    const fd = a.fileno();
    a.close();
    const b = new Socket();  // most likely takes the same number
    try {
      a.close();
      assert.ok(b.fileno() >= 0);
      assert.equal(b.getsockopt(SOL_SOCKET, SO_TYPE), SOCK_STREAM, `fd ${fd} reused by b is still open`);
    } finally {
      b.close();
    }
  });

  test("every method after close throws code EBADF", T, () => {
    const s = new Socket();
    s.close();
    const addr = ["127.0.0.1", 9] as const;
    const calls: Record<string, () => unknown> = {
      bind: () => s.bind(addr),
      listen: () => s.listen(1),
      accept: () => s.accept(),
      connect: () => s.connect(addr),
      connectEx: () => s.connectEx(addr),
      send: () => s.send(Buffer.from("x")),
      sendall: () => s.sendall(Buffer.from("x")),
      sendto: () => s.sendto(Buffer.from("x"), addr),
      recv: () => s.recv(1),
      recvfrom: () => s.recvfrom(1),
      getsockname: () => s.getsockname(),
      getpeername: () => s.getpeername(),
      getsockopt: () => s.getsockopt(SOL_SOCKET, SO_ERROR),
      setsockopt: () => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1),
      setblocking: () => s.setblocking(false),
      gettimeout: () => s.gettimeout(),
      getInheritable: () => s.getInheritable(),
      pendingError: () => s.pendingError(),
      shutdown: () => s.shutdown(SHUT_RDWR),
    };
    for (const [name, call] of Object.entries(calls)) {
      assert.throws(call, (err: NodeJS.ErrnoException) =>
        err.code === "EBADF" && err.errno === -E.EBADF && typeof err.syscall === "string", `${name}() after close`);
    }
  });
});

describe("hosts", () => {
  test('"" binds all interfaces; "localhost" binds loopback (AF_INET)', T, () => {
    const a = new Socket();
    const b = new Socket();
    try {
      a.bind(["", 0]);
      assert.equal(a.getsockname()[0], "0.0.0.0");
      b.bind(["localhost", 0]);
      assert.equal(b.getsockname()[0], "127.0.0.1");
    } finally {
      closeAllOf(a, b);
    }
  });

  test('"" and "localhost" for AF_INET6', { ...T, ...ipv6 }, () => {
    const a = new Socket(AF_INET6);
    const b = new Socket(AF_INET6);
    try {
      a.bind(["", 0]);
      assert.equal(a.getsockname()[0], "::");
      b.bind(["localhost", 0]);
      assert.equal(b.getsockname()[0], "::1");
    } finally {
      closeAllOf(a, b);
    }
  });

  test('connect, connectEx and sendto accept "localhost" and ""', T, async () => {
    const l = new Socket();
    const c1 = new Socket();
    const c2 = new Socket();
    const u = new Socket(AF_INET, SOCK_DGRAM);
    const r = new Socket(AF_INET, SOCK_DGRAM);
    try {
      l.bind(["localhost", 0]);
      l.listen(5);
      const port = l.getsockname()[1] as number;
      const e1 = c1.connectEx(["localhost", port]);
      assert.ok(e1 === 0 || e1 === E.EINPROGRESS);
      try {
        c2.connect(["", port]);
      } catch (err) {
        assert.equal((err as NodeJS.ErrnoException).code, "EINPROGRESS");
      }
      for (const c of [c1, c2]) {
        await ready(c, POLLOUT);
        assert.equal(c.getsockopt(SOL_SOCKET, SO_ERROR), 0);
        assert.deepEqual(c.getpeername(), ["127.0.0.1", port]);
      }
      r.bind(["localhost", 0]);
      const rport = r.getsockname()[1] as number;
      u.sendto(Buffer.from("a"), ["localhost", rport]);
      u.sendto(Buffer.from("b"), ["", rport]);
      await ready(r, POLLIN);
      assert.equal(r.recv(10).toString(), "a");
      await ready(r, POLLIN);
      assert.equal(r.recv(10).toString(), "b");
    } finally {
      closeAllOf(l, c1, c2, u, r);
    }
  });

  test("a host name in bind/connect/connectEx/sendto is a clear error, not a lookup", T, () => {
    const s = new Socket();
    const u = new Socket(AF_INET, SOCK_DGRAM);
    try {
      const clear = (err: Error & { code?: string; hostname?: string }): boolean =>
        err.code === "ERR_NUMERIC_HOST_REQUIRED" && err.hostname === "host.invalid" && err.message.includes("host.invalid") &&
        err.message.includes("lookup");
      assert.throws(() => s.bind(["host.invalid", 0]), clear);
      assert.throws(() => s.connect(["host.invalid", 80]), clear);
      assert.throws(() => s.connectEx(["host.invalid", 80]), clear);
      assert.throws(() => u.sendto(Buffer.from("x"), ["host.invalid", 80]), clear);
      assert.ok(s.fileno() >= 0, "the socket is still usable");
    } finally {
      closeAllOf(s, u);
    }
  });

  test("an address of the other family is a TypeError", { ...T, ...ipv6 }, () => {
    const s4 = new Socket(AF_INET);
    const s6 = new Socket(AF_INET6);
    try {
      assert.throws(() => s4.bind(["::1", 0]), TypeError);
      assert.throws(() => s6.bind(["127.0.0.1", 0]), TypeError);
    } finally {
      closeAllOf(s4, s6);
    }
  });
});
