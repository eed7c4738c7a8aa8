// Bad input on every public entry point: a wrong type throws TypeError, an out-of-range value
// RangeError, an operation on a closed object code EBADF, and nothing crashes the process.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  AF_INET, AF_INET6, AF_UNIX, Dispatcher, DispatcherWithSend, FileDispatcher, FileWrapper, POLLIN, SOCK_DGRAM, SOCK_STREAM,
  SOL_SOCKET, SO_ERROR, SO_REUSEADDR, Socket, closeAll, compactTraceback, exception, loop, poll, poll2, read,
  readwrite, socketpair, strerror, write,
} from "../src/index.js";
import { LIBRARY_URL, runNode } from "./helpers/child-process.js";
import { captureOutput } from "./helpers/capture.js";

const T = { timeout: 10_000 };
const EBADF = { code: "EBADF" };

/** Values of the wrong type for a number argument. */
const NOT_NUMBERS: unknown[] = ["1", null, {}, [], true, 1n, Symbol("n"), () => 1, { valueOf: () => 1 }];
/** Numbers no size, descriptor or flag can be. */
const BAD_SIZES = [-1, 1.5, NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53];
/** Values that are not bytes. */
const NOT_BYTES: unknown[] = ["text", 5, null, undefined, {}, [1, 2, 3], new ArrayBuffer(4), true];

function show(v: unknown): string {
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return v.toString();
  if (typeof v === "function") return "function";
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    try {
      return String(v);
    } catch {
      return `<unprintable ${typeof v}>`;
    }
  }
}

function throwsType(fn: () => unknown, what: string): void {
  assert.throws(fn, TypeError, what);
}
function throwsRange(fn: () => unknown, what: string): void {
  assert.throws(fn, RangeError, what);
}

/** A Dispatcher subclass that keeps quiet (the defaults log warnings). */
class Quiet extends Dispatcher {
  override handleClose(): void { this.close(); }
}

describe("Socket", () => {
  test("constructor and socketpair: wrong types and ranges", T, () => {
    for (const v of NOT_NUMBERS) {
      throwsType(() => new Socket(v as number), `new Socket(${show(v)})`);
      throwsType(() => new Socket(AF_INET, v as number), `type ${show(v)}`);
      throwsType(() => new Socket(AF_INET, SOCK_STREAM, v as number), `proto ${show(v)}`);
      throwsType(() => socketpair(v as number), `socketpair(${show(v)})`);
    }
    for (const v of [-1, 1.5, NaN, 2 ** 31]) {
      throwsRange(() => new Socket(v), `new Socket(${v})`);
      throwsRange(() => new Socket(AF_INET, v), `type ${v}`);
      throwsRange(() => socketpair(AF_UNIX, v), `socketpair type ${v}`);
    }
    for (const v of ["3", {}, 1n]) throwsType(() => new Socket(AF_INET, SOCK_STREAM, 0, v as number), `fileno ${show(v)}`);
    for (const v of [-1, 1.5, 2 ** 31]) throwsRange(() => new Socket(AF_INET, SOCK_STREAM, 0, v), `fileno ${v}`);
    // A family or type the kernel does not know: a system error, not a crash.
    assert.throws(() => new Socket(12345), (err: NodeJS.ErrnoException) => typeof err.code === "string" && err.syscall === "socket");
    assert.throws(() => new Socket(AF_INET, 12345), (err: NodeJS.ErrnoException) => typeof err.code === "string" && err.syscall === "socket");
  });

  test("addresses: wrong shapes are TypeError, ports/flowinfo/scope out of range are RangeError", T, () => {
    const s = new Socket();
    const u = new Socket(AF_INET, SOCK_DGRAM);
    const x = new Socket(AF_UNIX);
    try {
      const methods: [string, (a: unknown) => unknown][] = [
        ["bind", (a) => s.bind(a as never)],
        ["connect", (a) => s.connect(a as never)],
        ["connectEx", (a) => s.connectEx(a as never)],
        ["sendto", (a) => u.sendto(Buffer.from("x"), a as never)],
      ];
      for (const [name, call] of methods) {
        for (const a of ["127.0.0.1:80", 80, null, undefined, {}, [], ["127.0.0.1"], [80, "127.0.0.1"], [null, 80],
          ["127.0.0.1", "80"], ["127.0.0.1", 80, 0], ["::1", 80]]) {
          throwsType(() => call(a), `${name}(${show(a)})`);
        }
        for (const port of [65536, -1, 1.5, NaN, 1e9]) throwsRange(() => call(["127.0.0.1", port]), `${name} port ${port}`);
      }
      for (const a of [["/tmp/x", 0], 5, null, {}]) {
        throwsType(() => x.bind(a as never), `AF_UNIX bind(${show(a)})`);
        throwsType(() => x.connect(a as never), `AF_UNIX connect(${show(a)})`);
      }
      throwsRange(() => x.bind(`/tmp/${"p".repeat(200)}`), "AF_UNIX path too long");
      assert.ok(s.fileno() >= 0 && u.fileno() >= 0 && x.fileno() >= 0, "bad addresses leave the sockets open");
    } finally {
      s.close();
      u.close();
      x.close();
    }
  });

  test("AF_INET6 addresses: flowinfo and scopeId ranges", T, () => {
    const six = new Socket(AF_INET6);  // creating one needs no IPv6 address on the machine
    try {
      throwsRange(() => six.bind(["::1", 0, -1]), "flowinfo -1");
      throwsRange(() => six.bind(["::1", 0, 2 ** 20]), "flowinfo 2**20");
      throwsRange(() => six.bind(["::1", 0, 0, 2 ** 32]), "scopeId 2**32");
      throwsType(() => six.bind(["::1", 0, "0"] as never), "flowinfo string");
      throwsType(() => six.bind(["::1", 0, 0, 0, 0] as never), "five elements");
      throwsType(() => six.bind(["127.0.0.1", 0]), "an IPv4 host");
    } finally {
      six.close();
    }
  });

  test("every method: wrong types → TypeError, out of range → RangeError", T, () => {
    const [s, peer] = socketpair();
    try {
      for (const v of NOT_NUMBERS) {
        throwsType(() => s.listen(v as number), `listen(${show(v)})`);
        throwsType(() => s.recv(v as number), `recv(${show(v)})`);
        throwsType(() => s.recv(1, v as number), `recv flags ${show(v)}`);
        throwsType(() => s.recvfrom(v as number), `recvfrom(${show(v)})`);
        throwsType(() => s.send(Buffer.from("x"), v as number), `send flags ${show(v)}`);
        throwsType(() => s.getsockopt(v as number, SO_ERROR), `getsockopt level ${show(v)}`);
        throwsType(() => s.getsockopt(SOL_SOCKET, v as number), `getsockopt option ${show(v)}`);
        throwsType(() => s.setsockopt(v as number, SO_REUSEADDR, 1), `setsockopt level ${show(v)}`);
        throwsType(() => s.shutdown(v as number), `shutdown(${show(v)})`);
      }
      for (const v of NOT_BYTES) {
        throwsType(() => s.send(v as Uint8Array), `send(${show(v)})`);
        throwsType(() => s.sendall(v as Uint8Array), `sendall(${show(v)})`);
        throwsType(() => s.sendto(v as Uint8Array, "/nowhere"), `sendto(${show(v)})`);
      }
      for (const v of ["1", null, {}, [1]]) throwsType(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, v as number), `setsockopt value ${show(v)}`);
      for (const v of [1, 0, "true", null, undefined] as unknown[]) throwsType(() => s.setblocking(v as boolean), `setblocking(${show(v)})`);
      for (const v of BAD_SIZES) {
        throwsRange(() => s.recv(v), `recv(${v})`);
        throwsRange(() => s.recvfrom(v), `recvfrom(${v})`);
        throwsRange(() => s.recv(1, v), `recv flags ${v}`);
        throwsRange(() => s.send(Buffer.from("x"), v), `send flags ${v}`);
        throwsRange(() => s.getsockopt(v, SO_ERROR), `getsockopt level ${v}`);
      }
      // An option value is any C int, negative ones included.
      for (const v of [1.5, NaN, Infinity, 2 ** 31, -(2 ** 31) - 1]) throwsRange(() => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, v), `setsockopt value ${v}`);
      for (const v of [-1, 3, 1.5, NaN]) throwsRange(() => s.shutdown(v), `shutdown(${v})`);
      for (const v of [0, -1, 1025, 1.5]) throwsRange(() => s.getsockopt(SOL_SOCKET, SO_ERROR, v), `getsockopt buflen ${v}`);
      for (const v of [1.5, NaN, 2 ** 31]) throwsRange(() => s.listen(v), `listen(${v})`);
      // None of that touched the socket.
      assert.equal(s.gettimeout(), 0);
      assert.equal(s.send(Buffer.from("fine")), 4);
      assert.equal(peer.recv(10).toString(), "fine");
    } finally {
      s.close();
      peer.close();
    }
  });

  test("closed: every method throws code EBADF (bad arguments still TypeError first)", T, () => {
    const s = new Socket();
    s.close();
    const calls: [string, () => unknown][] = [
      ["bind", () => s.bind(["127.0.0.1", 0])], ["listen", () => s.listen()], ["accept", () => s.accept()],
      ["connect", () => s.connect(["127.0.0.1", 9])], ["connectEx", () => s.connectEx(["127.0.0.1", 9])],
      ["send", () => s.send(Buffer.from("x"))], ["sendall", () => s.sendall(Buffer.from("x"))],
      ["sendto", () => s.sendto(Buffer.from("x"), ["127.0.0.1", 9])], ["recv", () => s.recv(1)], ["recvfrom", () => s.recvfrom(1)],
      ["getsockname", () => s.getsockname()], ["getpeername", () => s.getpeername()],
      ["getsockopt", () => s.getsockopt(SOL_SOCKET, SO_ERROR)], ["setsockopt", () => s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)],
      ["setblocking", () => s.setblocking(true)], ["gettimeout", () => s.gettimeout()], ["getInheritable", () => s.getInheritable()],
      ["shutdown", () => s.shutdown(0)],
    ];
    for (const [name, call] of calls) assert.throws(call, EBADF, `${name}() on a closed socket`);
    s.close();
    assert.equal(s.fileno(), -1);
  });
});

describe("Dispatcher", () => {
  test("constructor: sock and map of the wrong type", T, () => {
    for (const v of [5, "sock", {}, [], true]) throwsType(() => new Dispatcher(v as never), `new Dispatcher(${show(v)})`);
    for (const v of [5, "map", {}, [], new Set()]) throwsType(() => new Dispatcher(null, v as never), `map ${show(v)}`);
    const closed = new Socket();
    closed.close();
    const map = new Map();
    assert.throws(() => new Dispatcher(closed, map), EBADF);
    assert.equal(map.size, 0, "a failed constructor leaves nothing in the map");
  });

  test("every method: wrong types and ranges", T, () => {
    const map = new Map();
    const d = new Quiet(null, map);
    try {
      for (const v of ["2", null, {}, 1n]) throwsType(() => d.createSocket(v as number), `createSocket(${show(v)})`);
      for (const v of [-1, 1.5, NaN]) throwsRange(() => d.createSocket(v), `createSocket(${v})`);
      for (const v of ["2", {}]) throwsType(() => d.createSocket(AF_INET, v as number), `createSocket type ${show(v)}`);
      for (const v of [5, "s", {}, null]) throwsType(() => d.setSocket(v as never), `setSocket(${show(v)})`);
      assert.equal(map.size, 0);
      d.createSocket();
      assert.equal(map.size, 1);
      for (const v of ["5", null, {}]) throwsType(() => d.listen(v as number), `listen(${show(v)})`);
      for (const v of [1.5, NaN, 2 ** 31]) throwsRange(() => d.listen(v), `listen(${v})`);
      for (const a of ["127.0.0.1:80", 80, null, {}, ["127.0.0.1"], [1, 2]]) {
        throwsType(() => d.bind(a as never), `bind(${show(a)})`);
        throwsType(() => d.connect(a as never), `connect(${show(a)})`);
      }
      for (const port of [65536, -1, 1.5]) {
        throwsRange(() => d.bind(["127.0.0.1", port]), `bind port ${port}`);
        throwsRange(() => d.connect(["127.0.0.1", port]), `connect port ${port}`);
      }
      assert.equal(d.connecting, false, "a refused address does not start connecting");
      for (const v of NOT_BYTES) throwsType(() => d.send(v as Uint8Array), `send(${show(v)})`);
      for (const v of NOT_NUMBERS) throwsType(() => d.recv(v as number), `recv(${show(v)})`);
      for (const v of BAD_SIZES) throwsRange(() => d.recv(v), `recv(${v})`);
      for (const v of [5, "map"]) throwsType(() => d.addChannel(v as never), `addChannel(${show(v)})`);
      for (const v of [5, "map"]) throwsType(() => d.delChannel(v as never), `delChannel(${show(v)})`);
      assert.equal(map.size, 1, "still registered once");
    } finally {
      d.close();
    }
    assert.equal(map.size, 0);
  });

  test("setSocket with a closed Socket throws EBADF and registers nothing", T, () => {
    const map = new Map();
    const d = new Quiet(null, map);
    const s = new Socket();
    s.close();
    assert.throws(() => d.setSocket(s, map), EBADF);
    assert.equal(map.size, 0);
  });

  test("without a socket: the socket operations throw EBADF", T, () => {
    const d = new Quiet(null, new Map());
    assert.throws(() => d.bind(["127.0.0.1", 0]), EBADF);
    assert.throws(() => d.listen(1), EBADF);
    assert.throws(() => d.connect(["127.0.0.1", 9]), EBADF);
    assert.throws(() => d.accept(), EBADF);
    assert.throws(() => d.send(Buffer.from("x")), EBADF);
    assert.throws(() => d.recv(1), EBADF);
    d.close();  // harmless
    d.close();
  });

  test("closed: bind/listen/connect/accept throw EBADF; send/recv close quietly as in Python", T, () => {
    const map = new Map();
    let closes = 0;
    class Counting extends Dispatcher {
      override handleClose(): void { closes++; this.close(); }
    }
    const d = new Counting(null, map);
    d.createSocket();
    d.close();
    d.close();
    assert.equal(map.size, 0);
    assert.throws(() => d.bind(["127.0.0.1", 0]), EBADF);
    assert.throws(() => d.listen(1), EBADF);
    assert.throws(() => d.connect(["127.0.0.1", 9]), EBADF);
    assert.throws(() => d.accept(), EBADF);
    // asyncore treats EBADF from send/recv as a disconnect: handle_close(), then 0 / b"".
    assert.equal(d.send(Buffer.from("x")), 0);
    assert.equal(d.recv(10).length, 0);
    assert.equal(closes, 2);
    assert.equal(map.size, 0);
  });

  test("handleError copes with any thrown value, however odd", T, () => {
    const odd: unknown[] = [
      undefined, null, 0, "text", Symbol("s"), Object.create(null), { toString() { throw new Error("no toString"); } },
      new Proxy({}, { get() { throw new Error("trap"); } }),
      Object.defineProperty(new Error("getter"), "stack", { get() { throw new Error("stack getter"); } }),
    ];
    for (const value of odd) {
      const map = new Map();
      const d = new Quiet(null, map);
      d.createSocket();
      const out = captureOutput(() => d.handleError(value));
      assert.match(out.stdout, /^error: uncaptured exception/, `handleError(${show(value)})`);
      assert.equal(map.size, 0, "the channel closed");
    }
  });
});

describe("DispatcherWithSend", () => {
  test("send: wrong types; closed: no crash, nothing thrown", T, () => {
    const map = new Map();
    class Q extends DispatcherWithSend {
      override handleClose(): void { this.close(); }
    }
    const d = new Q(null, map);
    for (const v of NOT_BYTES) throwsType(() => d.send(v as Uint8Array), `send(${show(v)})`);
    assert.throws(() => d.send(Buffer.from("x")), EBADF, "no socket yet");
    d.outBuffer = Buffer.alloc(0);
    d.createSocket();
    d.close();
    assert.doesNotThrow(() => d.send(Buffer.from("after close")));
    assert.doesNotThrow(() => d.initiateSend());
    assert.equal(map.size, 0);
  });
});

describe("FileWrapper", () => {
  test("constructor: wrong types, ranges, a descriptor that is not open", T, () => {
    for (const v of NOT_NUMBERS) throwsType(() => new FileWrapper(v as number), `new FileWrapper(${show(v)})`);
    for (const v of [-1, 1.5, NaN, 2 ** 31]) throwsRange(() => new FileWrapper(v), `new FileWrapper(${v})`);
    const [a, b] = socketpair();
    const fd = a.fileno();
    a.close();
    try {
      assert.throws(() => new FileWrapper(fd), EBADF);
    } finally {
      b.close();
    }
  });

  test("methods: wrong types and ranges; closed: EBADF; close twice harmless", T, () => {
    const [a, b] = socketpair();
    const w = new FileWrapper(a.fileno());
    try {
      for (const v of NOT_NUMBERS) {
        throwsType(() => w.read(v as number), `read(${show(v)})`);
        throwsType(() => w.recv(v as number), `recv(${show(v)})`);
        throwsType(() => w.getsockopt(v as number, SO_ERROR), `getsockopt(${show(v)})`);
      }
      for (const v of BAD_SIZES) {
        throwsRange(() => w.read(v), `read(${v})`);
        throwsRange(() => w.recv(v), `recv(${v})`);
      }
      for (const v of NOT_BYTES) {
        throwsType(() => w.write(v as Uint8Array), `write(${show(v)})`);
        throwsType(() => w.send(v as Uint8Array), `send(${show(v)})`);
      }
      assert.equal(w.getsockopt(SOL_SOCKET, SO_ERROR), 0);
      assert.equal(w.write(Buffer.from("ok")), 2);
      assert.equal(b.recv(10).toString(), "ok");
      w.close();
      w.close();
      assert.equal(w.fd, -1);
      assert.equal(w.fileno(), -1);
      assert.throws(() => w.read(1), EBADF);
      assert.throws(() => w.recv(1), EBADF);
      assert.throws(() => w.write(Buffer.from("x")), EBADF);
      assert.throws(() => w.send(Buffer.from("x")), EBADF);
      assert.equal(a.gettimeout(), 0, "the original descriptor is still open");
    } finally {
      w.close();
      a.close();
      b.close();
    }
  });
});

describe("FileDispatcher", () => {
  test("constructor: wrong types, ranges, closed descriptors", T, () => {
    const map = new Map();
    for (const v of ["3", null, undefined, {}, { fd: "3" }, { fileno: 3 }, true, 1n]) {
      throwsType(() => new FileDispatcher(v as number, map), `new FileDispatcher(${show(v)})`);
    }
    throwsType(() => new FileDispatcher({ fileno: () => "3" } as never, map), "fileno() returning a string");
    for (const v of [-1, 1.5, NaN, 2 ** 31]) {
      throwsRange(() => new FileDispatcher(v, map), `new FileDispatcher(${v})`);
      throwsRange(() => new FileDispatcher({ fd: v }, map), `{ fd: ${v} }`);
    }
    const [a, b] = socketpair();
    const fd = a.fileno();
    a.close();
    b.close();
    assert.throws(() => new FileDispatcher(fd, map), EBADF);
    const [c, e] = socketpair();
    try {
      throwsType(() => new FileDispatcher(c.fileno(), {} as never), "map {}");
    } finally {
      c.close();
      e.close();
    }
    assert.equal(map.size, 0, "nothing registered by failed constructors");
  });

  test("setFile and the inherited methods: wrong types; closed: quiet as a Dispatcher", T, () => {
    const map = new Map();
    const [a, b] = socketpair();
    class Q extends FileDispatcher {
      override handleClose(): void { this.close(); }
    }
    const d = new Q(a.fileno(), map);
    try {
      for (const v of NOT_NUMBERS) throwsType(() => d.setFile(v as number), `setFile(${show(v)})`);
      for (const v of [-1, 1.5]) throwsRange(() => d.setFile(v), `setFile(${v})`);
      for (const v of NOT_BYTES) throwsType(() => d.send(v as Uint8Array), `send(${show(v)})`);
      for (const v of BAD_SIZES) throwsRange(() => d.recv(v), `recv(${v})`);
      // A file is not a socket: the socket-only calls say so with a TypeError.
      throwsType(() => d.bind(["127.0.0.1", 0]), "bind on a file");
      throwsType(() => d.listen(1), "listen on a file");
      throwsType(() => d.accept(), "accept on a file");
      assert.equal(map.size, 1);
      d.close();
      d.close();
      assert.equal(map.size, 0);
      assert.equal(d.send(Buffer.from("x")), 0);
      assert.equal(d.recv(1).length, 0);
      assert.equal(a.gettimeout(), 0, "closing the dispatcher leaves the original descriptor open");
    } finally {
      d.close();
      a.close();
      b.close();
    }
  });
});

describe("module functions", () => {
  test("loop(): options of the wrong type reject with TypeError, negative timeout with RangeError", T, async () => {
    for (const v of ["x", 5, true]) await assert.rejects(loop(v as never), TypeError, `loop(${show(v)})`);
    for (const v of ["1", {}, true, 1n]) await assert.rejects(loop({ timeout: v as number, map: new Map() }), TypeError, `timeout ${show(v)}`);
    for (const v of [-1, -0.001, NaN, -Infinity]) await assert.rejects(loop({ timeout: v, map: new Map() }), RangeError, `timeout ${v}`);
    for (const v of [{}, [], "map", 5, new Set()]) await assert.rejects(loop({ map: v as never }), TypeError, `map ${show(v)}`);
    for (const v of [1, "true"] as unknown[]) await assert.rejects(loop({ usePoll: v as boolean, map: new Map() }), TypeError, `usePoll ${show(v)}`);
    for (const v of ["3", {}, NaN]) await assert.rejects(loop({ count: v as number, map: new Map() }), TypeError, `count ${show(v)}`);
    // A bad call throws nothing synchronously: it is always a rejected promise.
    const p = loop({ timeout: -1 });
    assert.ok(p instanceof Promise);
    await assert.rejects(p, RangeError);
  });

  test("poll() and poll2(): wrong types and ranges", T, async () => {
    for (const pass of [poll, poll2]) {
      for (const v of ["1", {}, true]) await assert.rejects(pass(v as number, new Map()), TypeError, `${pass.name}(${show(v)})`);
      for (const v of [-1, NaN, -Infinity]) await assert.rejects(pass(v, new Map()), RangeError, `${pass.name}(${v})`);
      for (const v of [{}, "map", 5]) await assert.rejects(pass(0, v as never), TypeError, `${pass.name} map ${show(v)}`);
    }
  });

  test("closeAll(): a map of the wrong type; channels that fail to close", T, () => {
    for (const v of [{}, "map", 5, []]) throwsType(() => closeAll(v as never), `closeAll(${show(v)})`);
    // Odd channels: no close method, a close that throws EBADF (ignored), one that throws otherwise.
    const map = new Map<number, never>([[1, {} as never], [2, { close() { throw Object.assign(new Error("gone"), { code: "EBADF" }); } } as never]]);
    closeAll(map);
    assert.equal(map.size, 0);
    const failing = new Map<number, never>([[3, { close() { throw new Error("broken"); } } as never]]);
    assert.throws(() => closeAll(failing), /broken/);
    closeAll(failing, true);
    assert.equal(failing.size, 0);
  });

  test("readwrite(), read(), write(), exception(): non-channels and non-number flags are TypeErrors", T, () => {
    for (const v of [null, undefined, 5, "channel", {}]) {
      throwsType(() => readwrite(v as never, POLLIN), `readwrite(${show(v)})`);
      throwsType(() => read(v as never), `read(${show(v)})`);
      throwsType(() => write(v as never), `write(${show(v)})`);
      throwsType(() => exception(v as never), `exception(${show(v)})`);
    }
    let called = 0;
    const channel = {
      readable: () => true, writable: () => true, handleReadEvent: () => { called++; }, handleWriteEvent: () => { called++; },
      handleExptEvent: () => { called++; }, handleError: () => { called++; }, handleClose: () => { called++; },
    };
    for (const v of ["1", null, {}, 1n]) throwsType(() => readwrite(channel, v as number), `readwrite flags ${show(v)}`);
    assert.equal(called, 0);
  });

  test("strerror(): wrong types are TypeError; any integer gives a non-empty text", T, () => {
    for (const v of ["1", null, undefined, {}, 1n]) throwsType(() => strerror(v as number), `strerror(${show(v)})`);
    for (const v of [0, -1, 1, 2 ** 31, -(2 ** 40), 115, 1.5, NaN]) {
      const text = strerror(v);
      assert.equal(typeof text, "string");
      assert.notEqual(text, "", `strerror(${v})`);
    }
  });

  test("compactTraceback(): any value, however odd, gives the four parts without throwing", T, () => {
    const odd: unknown[] = [
      undefined, null, 42, "text", Symbol("s"), Object.create(null), { toString() { throw new Error("no"); } },
      new Proxy({}, { get() { throw new Error("trap"); } }), { stack: 5 }, { stack: "not a stack" },
      Object.defineProperty(new Error("e"), "stack", { get() { throw new Error("stack getter"); } }),
      Object.defineProperty(new Error("e"), "name", { get() { throw new Error("name getter"); } }),
    ];
    for (const value of odd) {
      const r = compactTraceback(value);
      assert.equal(r.length, 4, show(value));
      const [frame, name, message, info] = r;
      assert.equal(frame.length, 3);
      assert.equal(typeof name, "string");
      assert.equal(typeof message, "string");
      assert.match(info, /^\[.*\|.*\|.*\]/);
    }
  });
});

describe("no crash, whatever the map holds", () => {
  test("a map key that is not a descriptor, added while a loop waits: the loop rejects, the process lives", T, async () => {
    const script = `
      import { Dispatcher, loop, socketpair } from ${JSON.stringify(LIBRARY_URL)};
      const results = [];
      for (const usePoll of [false, true]) {
        for (const key of [-1, 1.5, "7", 2 ** 31]) {
          const map = new Map();
          const [a, b] = socketpair();
          class Keeper extends Dispatcher { writable() { return false; } handleRead() { this.recv(10); } }
          new Keeper(a, map);
          const bogus = { readable: () => true, writable: () => true, handleReadEvent() {}, handleWriteEvent() {},
            handleExptEvent() {}, handleError() {}, handleClose() { map.delete(key); } };
          setTimeout(() => map.set(key, bogus), 30);
          const timer = setTimeout(() => b.send(Buffer.from("x")), 300);
          try {
            await loop({ map, timeout: 0.01, usePoll, count: 100 });
            results.push(String(key) + ": resolved");
          } catch (err) {
            results.push(String(key) + ": " + (err && err.name));
          }
          clearTimeout(timer);
          a.close(); b.close();
        }
      }
      console.log(JSON.stringify(results));
    `;
    const r = await runNode(script, { timeoutMs: 10_000 });
    assert.equal(r.signal, null, r.stderr);
    assert.equal(r.code, 0, `the process died:\n${r.stderr}`);
    const results = JSON.parse(r.stdout.trim().split("\n").pop()!) as string[];
    assert.equal(results.length, 8);
    for (const line of results) assert.match(line, /: (TypeError|RangeError)$/);
  });

  test("a channel whose readable() or writable() throws, or returns junk: handled, no crash", T, async () => {
    for (const usePoll of [false, true]) {
      const map = new Map();
      const [a, b] = socketpair();
      class Thrower extends Dispatcher {
        override readable(): boolean { throw new Error("readable exploded"); }
      }
      new Thrower(a, map);
      await assert.rejects(loop({ map, timeout: 0.01, usePoll, count: 3 }), /readable exploded/);
      closeAll(map);
      b.close();
      const [c, e] = socketpair();
      class Junk extends Dispatcher {
        override readable(): boolean { return "yes" as unknown as boolean; }
        override writable(): boolean { return undefined as unknown as boolean; }
        override handleRead(): void { this.recv(10); this.close(); }
      }
      new Junk(c, map);
      e.send(Buffer.from("x"));
      await loop({ map, timeout: 1, usePoll, count: 50 });
      assert.equal(map.size, 0);
      e.close();
    }
  });
});
