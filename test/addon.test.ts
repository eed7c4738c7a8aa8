// The native binding's contract, called directly: results and -errno for failed calls, TypeError or
// RangeError for bad arguments (never a crash), double close and use after close, the poller's
// bookkeeping, Worker threads, and sockets collected by the garbage collector while polled.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import util from "node:util";
import { Worker } from "node:worker_threads";
import {
  AF_INET, AF_INET6, AF_UNIX, Dispatcher, DispatcherWithSend, POLLIN, POLLNVAL, SOCK_STREAM, SOL_SOCKET, SO_ERROR,
  SO_REUSEADDR, Socket, loop, socketpair,
} from "../src/index.js";
import { binding } from "../src/native.js";
import { systemError } from "../src/errors.js";
import { POLLERS } from "./helpers/pollers.js";
import { LIBRARY_URL, runNode } from "./helpers/child-process.js";

const E = os.constants.errno;
// Slow runs (valgrind, a loaded machine) stretch every bound: TEST_TIME_SCALE=20 node --test ...
const SCALE = Number(process.env["TEST_TIME_SCALE"]) || 1;
const T = { timeout: 15_000 * SCALE };
const CHILD = 10_000 * SCALE;
const NATIVE_URL = new URL("./native.js", LIBRARY_URL).href;

/** A child's result in a form that says everything when an assertion fails. */
function describeChild(r: { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }): string {
  return `code=${r.code} signal=${r.signal} timedOut=${r.timedOut}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

describe("error shape", () => {
  test("systemError: code, negative errno, syscall, message; errno accepted either sign", T, () => {
    for (const errno of [E.EADDRINUSE, -E.EADDRINUSE]) {
      const err = systemError(errno, "bind", "127.0.0.1:80");
      assert.ok(err instanceof Error);
      assert.equal(err.code, "EADDRINUSE");
      assert.equal(err.errno, -E.EADDRINUSE);
      assert.equal(err.syscall, "bind");
      assert.match(err.message, /^bind EADDRINUSE: .+ 127\.0\.0\.1:80$/);
      assert.equal(util.getSystemErrorName(err.errno), err.code);
    }
  });

  test("systemError names errnos libuv does not know (EINPROGRESS) by the platform's name", T, () => {
    const err = systemError(-E.EINPROGRESS, "connect");
    assert.equal(err.code, "EINPROGRESS");
    assert.equal(err.errno, -E.EINPROGRESS);
    assert.doesNotMatch(err.message, /Unknown/);
  });

  test("bind EADDRINUSE through the Socket layer", T, () => {
    const a = new Socket();
    const b = new Socket();
    try {
      a.bind(["127.0.0.1", 0]);
      a.listen(1);
      const port = a.getsockname()[1] as number;
      let caught: unknown;
      try {
        b.bind(["127.0.0.1", port]);
      } catch (err) {
        caught = err;
      }
      const err = caught as NodeJS.ErrnoException;
      assert.ok(err instanceof Error, "bind did not throw");
      assert.deepEqual([err.code, err.errno, err.syscall], ["EADDRINUSE", -E.EADDRINUSE, "bind"]);
      // The raw binding reports the same failure as a number, not an exception.
      assert.equal(binding.bind(b.fileno(), AF_INET, "127.0.0.1", port, 0, 0), -E.EADDRINUSE);
    } finally {
      a.close();
      b.close();
    }
  });

  test("connect ECONNREFUSED through the Socket layer; connectEx gives the positive errno", T, () => {
    const closed = new Socket();
    const c = new Socket();
    const d = new Socket();
    try {
      closed.bind(["127.0.0.1", 0]);  // bound, not listening: refuses connections
      const addr = ["127.0.0.1", closed.getsockname()[1] as number] as const;
      c.setblocking(true);
      assert.throws(() => c.connect(addr), (err: NodeJS.ErrnoException) =>
        err instanceof Error && err.code === "ECONNREFUSED" && err.errno === -E.ECONNREFUSED && err.syscall === "connect");
      d.setblocking(true);
      assert.equal(d.connectEx(addr), E.ECONNREFUSED);
    } finally {
      closed.close();
      c.close();
      d.close();
    }
  });
});

// ---- bad arguments ----------------------------------------------------------------------------

type Case = [fn: string, args: unknown[], expected: typeof TypeError | typeof RangeError];

/** Calls that must throw before any system call runs; `fd` is a live socket of the test's own. */
function badCalls(fd: number): Case[] {
  const buf = Buffer.from("x");
  const v4 = [AF_INET, "127.0.0.1", 0, 0, 0];
  const cases: Case[] = [
    ["socket", [], TypeError], ["socket", ["2", 1, 0], TypeError], ["socket", [-1, 1, 0], RangeError],
    ["socket", [AF_INET, 1.5, 0], RangeError], ["socket", [2 ** 31, 1, 0], RangeError], ["socket", [NaN, 1, 0], RangeError],
    ["socket", [AF_INET, SOCK_STREAM, Infinity], RangeError], ["socket", [10n, 1, 0], TypeError],
    ["socketpair", [AF_UNIX], TypeError], ["socketpair", [AF_UNIX, -1, 0], RangeError],
    ["bind", [], TypeError], ["bind", [fd], TypeError], ["bind", ["3", ...v4], TypeError], ["bind", [-1, ...v4], RangeError],
    ["bind", [fd, AF_INET, 1, 0, 0, 0], TypeError], ["bind", [fd, AF_INET, "127.0.0.1", 65536, 0, 0], RangeError],
    ["bind", [fd, AF_INET, "127.0.0.1", -1, 0, 0], RangeError], ["bind", [fd, AF_INET, "127.0.0.1", "80", 0, 0], TypeError],
    ["bind", [fd, AF_INET, "not an address", 0, 0, 0], TypeError], ["bind", [fd, AF_INET, "::1", 0, 0, 0], TypeError],
    ["bind", [fd, AF_INET6, "::1", 0, 2 ** 20, 0], RangeError], ["bind", [fd, AF_INET6, "::1", 0, 0, 2 ** 32], RangeError],
    ["bind", [fd, AF_UNIX, "x".repeat(200)], RangeError], ["bind", [fd, AF_UNIX, 7], TypeError],
    ["bind", [fd, 12345, "x", 0, 0, 0], RangeError], ["bind", [fd, 70000, "x", 0, 0, 0], RangeError],
    ["listen", [fd], TypeError], ["listen", [fd, "5"], TypeError], ["listen", [fd, 2 ** 31], RangeError],
    ["connect", [fd], TypeError], ["connect", [fd, AF_INET, "127.0.0.1", 1e6, 0, 0], RangeError],
    ["connect", [fd, AF_INET, null, 80, 0, 0], TypeError],
    ["accept", [], TypeError], ["accept", [1.5], RangeError], ["accept", [{}], TypeError],
    ["send", [fd], TypeError], ["send", [fd, "x", 0], TypeError], ["send", [fd, new ArrayBuffer(1), 0], TypeError],
    ["send", [fd, [1, 2], 0], TypeError], ["send", [fd, buf, -1], RangeError], ["send", [fd, buf, "0"], TypeError],
    ["send", [fd, buf, 2 ** 31], RangeError], ["send", [fd, null, 0], TypeError],
    ["sendv", [fd], TypeError], ["sendv", [fd, buf, 1], TypeError], ["sendv", [fd, "x", 1], TypeError],
    ["sendv", [fd, [buf], 2], RangeError], ["sendv", [fd, [buf], -1], RangeError], ["sendv", [fd, [buf], "1"], TypeError],
    ["sendv", [fd, [buf]], TypeError], ["sendv", [fd, ["x"], 1], TypeError], ["sendv", [fd, [null], 1], TypeError],
    ["sendv", [fd, [new ArrayBuffer(1)], 1], TypeError], ["sendv", [fd, [new DataView(new ArrayBuffer(1))], 1], TypeError],
    ["sendv", [fd, [buf, 5], 2], TypeError], ["sendv", [fd, new Proxy([buf], {}), 1], TypeError],
    ["sendto", [fd, buf, 0], TypeError], ["sendto", [fd, "x", 0, ...v4], TypeError],
    ["sendto", [fd, buf, 0, AF_INET, "127.0.0.1", 99999, 0, 0], RangeError],
    ["recvInto", [fd], TypeError], ["recvInto", [fd, "x", 0, 1], TypeError], ["recvInto", [fd, buf, -1, 1], RangeError],
    ["recvInto", [fd, buf, 0, buf.length + 1], RangeError], ["recvInto", [fd, buf, buf.length + 1, 0], RangeError],
    ["recvInto", [fd, buf, 0, "1"], TypeError], ["recvInto", [fd, new ArrayBuffer(4), 0, 1], TypeError],
    ["recvInto", [fd, buf, 0, 1, -1], RangeError], ["recvInto", [fd, buf, 0, 1, "0"], TypeError],
    ["recvInto", [fd, new Float64Array(1), 0, 1], TypeError], ["recvInto", [fd, buf, 0, 2 ** 31], RangeError],
    ["recvfromInto", [fd], TypeError], ["recvfromInto", [fd, buf, -1, 1, 0], RangeError], ["recvfromInto", [fd, null, 0, 1, 0], TypeError],
    ["recvfromInto", [fd, buf, 0, 1, 0.5], RangeError], ["recvfromInto", [fd, buf, 1, 1, 0], RangeError],
    ["readInto", [fd], TypeError], ["readInto", [fd, buf, 0, -1], RangeError], ["readInto", [fd, buf, NaN, 1], RangeError],
    ["readInto", [fd, new DataView(new ArrayBuffer(1)), 0, 1], TypeError],
    ["queued", [], TypeError], ["queued", [-1], RangeError], ["queued", ["3"], TypeError],
    ["write", [fd], TypeError], ["write", [fd, "x"], TypeError], ["write", [fd, 5], TypeError],
    ["getsockname", [], TypeError], ["getsockname", ["x"], TypeError], ["getsockname", [-1], RangeError],
    ["getpeername", [Symbol("fd")], TypeError], ["getpeername", [2 ** 40], RangeError],
    ["getsockopt", [fd, "1", 1], TypeError], ["getsockopt", [fd, -1, 1], RangeError], ["getsockopt", [fd, SOL_SOCKET, SO_ERROR, 0], RangeError],
    ["getsockopt", [fd, SOL_SOCKET, SO_ERROR, 1025], RangeError], ["getsockopt", [fd, SOL_SOCKET, SO_ERROR, "8"], TypeError],
    ["setsockopt", [fd, SOL_SOCKET, SO_REUSEADDR], TypeError], ["setsockopt", [fd, SOL_SOCKET, SO_REUSEADDR, "1"], TypeError],
    ["setsockopt", [fd, SOL_SOCKET, SO_REUSEADDR, 2 ** 31], RangeError], ["setsockopt", [fd, SOL_SOCKET, SO_REUSEADDR, null], TypeError],
    ["setsockopt", [fd, SOL_SOCKET, SO_REUSEADDR, 1.5], RangeError], ["setsockopt", [fd, -1, SO_REUSEADDR, 1], RangeError],
    ["shutdown", [fd, 3], RangeError], ["shutdown", [fd, "0"], TypeError], ["shutdown", [fd, -1], RangeError], ["shutdown", [fd], TypeError],
    ["close", [], TypeError], ["close", [-1], RangeError], ["close", ["1"], TypeError], ["close", [0.5], RangeError],
    ["dup", [], TypeError], ["dup", [-1], RangeError],
    ["reserveFds", [], TypeError], ["reserveFds", [-1, 100], RangeError], ["reserveFds", [fd, 0], RangeError], ["reserveFds", [fd, "9"], TypeError], ["fdHeadroom", [], TypeError], ["fdHeadroom", [-1], RangeError],
    ["setBlocking", [fd], TypeError], ["setBlocking", [fd, 1], TypeError], ["setBlocking", [fd, "true"], TypeError],
    ["fdFlags", [], TypeError], ["fdFlags", [-1], RangeError],
    ["pollNow", [fd], TypeError], ["pollNow", [fd, -1], RangeError], ["pollNow", [fd, 0x10000], RangeError],
    ["strerror", [], TypeError], ["strerror", ["5"], TypeError], ["strerror", [-1], RangeError], ["strerror", [2 ** 31], RangeError],
    ["pipe", ["4096"], TypeError], ["pipe", [0], RangeError], ["pipe", [-1], RangeError], ["pipe", [2 ** 31], RangeError], ["pipe", [1.5], RangeError],
    ["splice", [], TypeError], ["splice", [fd, fd], TypeError], ["splice", [fd, "1", 1], TypeError], ["splice", [-1, fd, 1], RangeError],
    ["splice", [fd, fd, 0], RangeError], ["splice", [fd, fd, 2 ** 31], RangeError], ["splice", [fd, fd, NaN], RangeError],
    ["splice", [fd, fd, 1, -1], RangeError], ["splice", [fd, fd, 1, 0x100], RangeError], ["splice", [fd, fd, 1, "0"], TypeError],
    ["getPipeSize", [], TypeError], ["getPipeSize", [-1], RangeError],
    ["setPipeSize", [fd], TypeError], ["setPipeSize", [fd, 0], RangeError], ["setPipeSize", [fd, "4096"], TypeError], ["setPipeSize", [-1, 4096], RangeError],
  ];
  return cases;
}

describe("bad arguments to the binding", () => {
  test("every function throws TypeError or RangeError before any system call", T, () => {
    const [a, b] = socketpair();
    try {
      const fd = a.fileno();
      const table = binding as unknown as Record<string, (...args: unknown[]) => unknown>;
      const names = new Set<string>();
      for (const [fn, args, expected] of badCalls(fd)) {
        names.add(fn);
        assert.equal(typeof table[fn], "function", `binding.${fn}`);
        assert.throws(() => table[fn]!(...args), expected, `binding.${fn}(${args.map((x) => typeof x === "bigint" ? `${x}n` : String(x)).join(", ")})`);
      }
      // Every system-call function of the binding has bad-argument cases.
      const callable = Object.keys(binding).filter((k) => typeof table[k] === "function");
      assert.deepEqual(callable.filter((k) => !names.has(k)), []);
      // The socket survived all of that untouched.
      assert.equal(a.gettimeout(), 0);
      a.send(Buffer.from("ok"));
      assert.equal(binding.pollNow(b.fileno(), POLLIN) & POLLIN, POLLIN);
      assert.equal(b.recv(10).toString(), "ok");
    } finally {
      a.close();
      b.close();
    }
  });

  test("the nastiest calls, in a child process: it ends normally", T, async () => {
    const script = `
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      const out = [];
      const expectThrow = (name, fn, kinds) => {
        try { fn(); out.push(name + ": no throw"); }
        catch (err) { if (!kinds.some((k) => err instanceof k)) out.push(name + ": wrong error " + err); }
      };
      // Before init(): wait() refuses clearly.
      expectThrow("wait before init", () => binding.poller.wait(0, new Int32Array(2), 0), [Error]);
      expectThrow("init(non-function)", () => binding.poller.init("callback"), [TypeError]);
      expectThrow("init()", () => binding.poller.init(), [TypeError]);
      let harvests = 0;
      binding.poller.init(() => { harvests++; });
      const P = binding.poller;
      expectThrow("wait('1')", () => P.wait("1", new Int32Array(2), 0), [TypeError]);
      expectThrow("wait(NaN)", () => P.wait(NaN, new Int32Array(2), 0), [RangeError]);
      expectThrow("wait(array)", () => P.wait(0, [1, 2], 1), [TypeError]);
      expectThrow("wait(Float64Array)", () => P.wait(0, new Float64Array(2), 1), [TypeError]);
      expectThrow("wait(too many)", () => P.wait(0, new Int32Array(2), 2), [RangeError]);
      expectThrow("wait(-1 changes)", () => P.wait(0, new Int32Array(2), -1), [RangeError]);
      expectThrow("wait(no nchanges)", () => P.wait(0, new Int32Array(2)), [TypeError]);
      expectThrow("wait(negative fd)", () => P.wait(0, new Int32Array([-5, 1]), 1), [RangeError]);
      expectThrow("wait(proxy)", () => P.wait(0, new Proxy(new Int32Array(2), {}), 1), [TypeError]);
      // Objects that would convert to numbers are still not numbers.
      const sneaky = { valueOf() { throw new Error("valueOf must not be called"); } };
      expectThrow("recvInto(valueOf)", () => binding.recvInto(sneaky, Buffer.alloc(1), 0, 1), [TypeError]);
      expectThrow("recvInto(valueOf offset)", () => binding.recvInto(0, Buffer.alloc(1), sneaky, 1), [TypeError]);
      expectThrow("send(valueOf flags)", () => binding.send(0, Buffer.alloc(1), sneaky), [TypeError]);
      const [a, b] = binding.socketpair(${AF_UNIX}, ${SOCK_STREAM}, 0);
      // A receive length past the buffer's end: RangeError before any system call.
      expectThrow("recvInto(huge)", () => binding.recvInto(a, Buffer.alloc(16), 0, 2 ** 31 - 1), [RangeError]);
      // With data waiting: exactly what is there, in the room given.
      binding.send(b, Buffer.from("0123456789"), 0);
      const room = Buffer.alloc(64);
      const got = binding.recvInto(a, room, 8, 56);
      if (got !== 10 || room.toString("latin1", 8, 18) !== "0123456789") out.push("recvInto gave " + got);
      // Odd byte views: a DataView, a wide typed array, a detached buffer, an empty view.
      if (binding.send(b, new DataView(new ArrayBuffer(3)), 0) !== 3) out.push("DataView send");
      if (binding.send(b, new Float64Array(2), 0) !== 16) out.push("Float64Array send counts bytes");
      const detached = new Uint8Array(16);
      structuredClone(detached.buffer, { transfer: [detached.buffer] });
      const d = binding.send(b, detached, 0);
      if (d !== 0) out.push("detached send gave " + d);
      if (binding.send(b, new Uint8Array(0), 0) !== 0) out.push("empty send");
      // Option values of the wrong size: the kernel says EINVAL, nothing else happens.
      const small = binding.setsockopt(a, ${SOL_SOCKET}, ${SO_REUSEADDR}, new Uint8Array(1));
      if (small !== -${E.EINVAL}) out.push("1-byte int option gave " + small);
      binding.setsockopt(a, ${SOL_SOCKET}, ${SO_REUSEADDR}, new Uint8Array(1 << 16));
      const one = binding.getsockopt(a, ${SOL_SOCKET}, ${SO_ERROR}, 1);
      if (!Buffer.isBuffer(one) || one.length > 1) out.push("getsockopt buflen 1 gave " + one);
      // AF_UNIX path limits: the longest that fits, one more, an abstract name.
      expectThrow("unix path 108", () => binding.bind(a, ${AF_UNIX}, "p".repeat(108)), [RangeError]);
      const fits = binding.bind(a, ${AF_UNIX}, "/nonexistent-dir/" + "p".repeat(90));
      if (fits !== -${E.ENOENT}) out.push("unix path that fits gave " + fits);
      // A wait with huge and infinite timeouts, ended by wake().
      P.wait(Infinity, new Int32Array(2), 0);
      expectThrow("second wait while waiting", () => P.wait(0, new Int32Array(2), 0), [Error]);
      P.wake();
      await new Promise((r) => setTimeout(r, 20));
      P.wait(1e300, new Int32Array(2), 0);
      P.wake(); P.wake();
      await new Promise((r) => setTimeout(r, 20));
      P.wait(-Infinity, new Int32Array(2), 0);
      P.wake();
      await new Promise((r) => setTimeout(r, 20));
      if (harvests !== 3) out.push("harvests: " + harvests);
      P.watching(1, 2, 3); P.wake("junk");
      binding.close(a); binding.close(b);
      console.log(JSON.stringify(out));
    `;
    const r = await runNode(script, { timeoutMs: CHILD });
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    assert.deepEqual(JSON.parse(r.stdout.trim().split("\n").pop()!), []);
  });

  test("a poll callback that throws is an ordinary uncaught exception, not an abort", T, async () => {
    const script = `
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      process.on("uncaughtException", (err) => { console.log("caught " + err.message); });
      binding.poller.init(() => { throw new Error("from the harvest"); });
      binding.poller.wait(0, new Int32Array(2), 0);
    `;
    const r = await runNode(script, { timeoutMs: CHILD });
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    assert.match(r.stdout, /caught from the harvest/);
  });

  test("a wait on a descriptor that cannot be watched reports POLLNVAL (no crash)", T, async () => {
    // A channel whose socket was closed behind the dispatcher's back asks the poller to watch a
    // closed descriptor: the poller must report it as poll(2) would (POLLNVAL), never crash.
    const script = `
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      const [a, b] = binding.socketpair(${AF_UNIX}, ${SOCK_STREAM}, 0);
      binding.close(b);  // b is now a closed number
      binding.send(a, Buffer.from("x"), 0);
      binding.poller.init((count, events) => {
        const pairs = [];
        for (let i = 0; i < count; i++) pairs.push([events[2 * i], events[2 * i + 1]]);
        console.log(JSON.stringify(pairs));
        binding.close(a);
      });
      binding.poller.wait(1000, new Int32Array([b, ${POLLIN}, a, ${POLLIN}]), 2);
    `;
    const r = await runNode(script, { timeoutMs: CHILD });
    assert.equal(r.signal, null, `the process died: ${describeChild(r)}`);
    assert.equal(r.code, 0, describeChild(r));
    const pairs = JSON.parse(r.stdout.trim()) as [number, number][];
    assert.ok(pairs.some(([, ev]) => (ev & POLLNVAL) !== 0), `no POLLNVAL in ${r.stdout}`);
  });

  test("sendv never sends from a buffer that a later element's getter detached and freed", T, async () => {
    // Reading element i may run JavaScript (a getter) that detaches element j < i: the addon must
    // not keep a pointer into j's memory from before that (it would send freed heap memory).
    const script = `
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      const [a, b] = binding.socketpair(${AF_UNIX}, ${SOCK_STREAM}, 0);
      const first = new Uint8Array(4096).fill(0x41);
      const list = [first];
      Object.defineProperty(list, 1, {
        enumerable: true,
        get() {
          structuredClone(first.buffer, { transfer: [first.buffer] });
          globalThis.gc(); globalThis.gc();
          return new Uint8Array([0x42]);
        },
      });
      let result;
      try { result = binding.sendv(a, list, 2); } catch (err) { result = err.name; }
      const room = Buffer.alloc(8192);
      const got = binding.recvInto(b, room, 0, 8192, 0);
      const bytes = got < 0 ? [] : [...room.subarray(0, got)];
      const foreign = bytes.filter((x) => x !== 0x41 && x !== 0x42).length;
      console.log(JSON.stringify({ result, length: bytes.length, foreign }));
    `;
    const r = await runNode(script, { nodeFlags: ["--expose-gc"], timeoutMs: CHILD });
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { result: number | string; length: number; foreign: number };
    assert.equal(out.foreign, 0, `sendv sent ${out.foreign} bytes that were in no live buffer: ${r.stdout}`);
  });

  test("a Dispatcher whose Socket was closed behind its back: a pass survives it", T, async () => {
    const script = `
      import { Dispatcher, poll, poll2 } from ${JSON.stringify(LIBRARY_URL)};
      for (const pass of [poll, poll2]) {
        const map = new Map();
        const d = new Dispatcher(null, map);
        d.createSocket();
        d.socket.close();  // still in the map under its old number
        await pass(0, map);
        d.close();
      }
      console.log("survived");
    `;
    const r = await runNode(script, { timeoutMs: CHILD });
    assert.equal(r.signal, null, `the process died: ${describeChild(r)}`);
    assert.equal(r.code, 0, describeChild(r));
    assert.match(r.stdout, /survived/);
  });
});

describe("close and use after close", () => {
  test("double close: the second gives -EBADF", T, () => {
    const fd = binding.socket(AF_INET, SOCK_STREAM, 0);
    assert.ok(fd >= 0);
    assert.equal(binding.close(fd), 0);
    assert.equal(binding.close(fd), -E.EBADF);
  });

  test("use after close: every call on the closed number gives -EBADF (POLLNVAL for pollNow)", T, () => {
    const fd = binding.socket(AF_INET, SOCK_STREAM, 0);
    binding.close(fd);
    const buf = Buffer.from("x");
    assert.equal(binding.bind(fd, AF_INET, "127.0.0.1", 0, 0, 0), -E.EBADF);
    assert.equal(binding.listen(fd, 1), -E.EBADF);
    assert.equal(binding.connect(fd, AF_INET, "127.0.0.1", 9, 0, 0), -E.EBADF);
    assert.equal(binding.accept(fd), -E.EBADF);
    assert.equal(binding.send(fd, buf, 0), -E.EBADF);
    assert.equal(binding.sendto(fd, buf, 0, AF_INET, "127.0.0.1", 9, 0, 0), -E.EBADF);
    assert.equal(binding.recvInto(fd, buf, 0, 1, 0), -E.EBADF);
    assert.equal(binding.recvfromInto(fd, buf, 0, 1, 0), -E.EBADF);
    assert.equal(binding.readInto(fd, buf, 0, 1), -E.EBADF);
    assert.equal(binding.queued(fd), -E.EBADF);
    assert.equal(binding.write(fd, buf), -E.EBADF);
    assert.equal(binding.getsockname(fd), -E.EBADF);
    assert.equal(binding.getpeername(fd), -E.EBADF);
    assert.equal(binding.getsockopt(fd, SOL_SOCKET, SO_ERROR), -E.EBADF);
    assert.equal(binding.getsockopt(fd, SOL_SOCKET, SO_ERROR, 4), -E.EBADF);
    assert.equal(binding.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1), -E.EBADF);
    assert.equal(binding.shutdown(fd, 2), -E.EBADF);
    assert.equal(binding.dup(fd), -E.EBADF);
    assert.equal(binding.setBlocking(fd, false), -E.EBADF);
    assert.equal(binding.fdFlags(fd), -E.EBADF);
    assert.equal(binding.pollNow(fd, POLLIN), POLLNVAL);
  });

  test("the Socket layer: close twice, then EBADF", T, () => {
    const s = new Socket();
    s.close();
    s.close();
    assert.throws(() => s.recv(1), { code: "EBADF", errno: -E.EBADF, syscall: "recv" });
  });

  test("constants: numbers for every name the library needs", T, () => {
    for (const name of ["AF_INET", "AF_INET6", "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM", "SOL_SOCKET", "SO_ERROR", "POLLIN", "POLLNVAL"]) {
      assert.equal(typeof binding.constants[name], "number", name);
    }
  });
});

// ---- the poller's bookkeeping --------------------------------------------------------------------

for (const mode of POLLERS) {
  test(`poller.watching() returns to its starting value once the channels close, ${mode.name}`, T, async () => {
    const start = binding.poller.watching();
    const map = new Map();
    let echoed = 0;
    class Echo extends DispatcherWithSend {
      override handleRead(): void { const d = this.recv(8192); if (d.length) this.send(d); }
      override handleClose(): void { this.close(); }
    }
    class Server extends Dispatcher {
      override handleAccepted(sock: Socket): void { new Echo(sock, map); }
    }
    const server = new Server(null, map);
    server.createSocket();
    server.setReuseAddr();
    server.bind(["127.0.0.1", 0]);
    server.listen(16);
    const port = (server.socket as Socket).getsockname()[1] as number;
    let peak = 0;
    class Client extends Dispatcher {
      constructor() { super(null, map); this.createSocket(); this.connect(["127.0.0.1", port]); }
      override handleConnect(): void { this.send(Buffer.from("ping")); }
      override writable(): boolean { return !this.connected; }
      override handleRead(): void {
        peak = Math.max(peak, binding.poller.watching());
        if (this.recv(10).toString() === "ping") echoed++;
        this.close();
        if (echoed === 5) server.close();
      }
    }
    for (let i = 0; i < 5; i++) new Client();
    await loop({ timeout: 1, usePoll: mode.usePoll, map });
    assert.equal(echoed, 5);
    assert.equal(map.size, 0);
    assert.ok(peak > start, "the poller watched the channels while they were open");
    assert.equal(binding.poller.watching(), start);
  });
}

// ---- Worker threads ------------------------------------------------------------------------------

/** Source of a worker that runs an echo round trip with its own loop and reports the bytes. */
const ECHO_WORKER = `
  const { parentPort, workerData } = require("node:worker_threads");
  (async () => {
    const { Dispatcher, DispatcherWithSend, loop } = await import(workerData.lib);
    const { binding } = await import(workerData.native);
    class Echo extends DispatcherWithSend {
      handleRead() { const d = this.recv(8192); if (d.length) this.send(d); }
      handleClose() { this.close(); }
    }
    class Server extends Dispatcher {
      handleAccepted(sock) { new Echo(sock); }
    }
    const server = new Server();
    server.createSocket();
    server.bind(["127.0.0.1", 0]);
    server.listen(5);
    const port = server.socket.getsockname()[1];
    const message = Buffer.alloc(200000);
    for (let i = 0; i < message.length; i++) message[i] = (i * 7 + workerData.seed) & 255;
    let got = Buffer.alloc(0);
    class Client extends Dispatcher {
      constructor() { super(); this.pending = message; this.createSocket(); this.connect(["localhost", port]); }
      handleConnect() {}
      writable() { return this.pending.length > 0; }
      handleWrite() { this.pending = this.pending.subarray(this.send(this.pending)); }
      handleRead() {
        got = Buffer.concat([got, this.recv(65536)]);
        if (got.length >= message.length) { this.close(); server.close(); }
      }
    }
    new Client();
    await loop({ timeout: 1, usePoll: workerData.usePoll });
    parentPort.postMessage({ equal: got.equals(message), length: got.length, watching: binding.poller.watching() });
  })().catch((err) => { parentPort.postMessage({ error: String(err && err.stack || err) }); });
`;

interface WorkerReport { equal?: boolean; length?: number; watching?: number; error?: string }

function runWorker(seed: number, usePoll: boolean): Promise<{ report: WorkerReport | null; code: number }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(ECHO_WORKER, { eval: true, workerData: { lib: LIBRARY_URL, native: NATIVE_URL, seed, usePoll } });
    let report: WorkerReport | null = null;
    w.on("message", (m: WorkerReport) => { report = m; });
    w.on("error", reject);
    // No terminate(): the worker must end by itself once its loop has nothing left.
    w.on("exit", (code) => resolve({ report, code }));
  });
}

describe("worker_threads", () => {
  for (const mode of POLLERS) {
    test(`an echo round trip inside a Worker, twice in a row, then both at once, ${mode.name}`, { timeout: 30_000 * SCALE }, async () => {
      for (const seed of [1, 2]) {
        const { report, code } = await runWorker(seed, mode.usePoll);
        assert.equal(report?.error, undefined);
        assert.deepEqual(report, { equal: true, length: 200000, watching: 0 });
        assert.equal(code, 0);
      }
      const both = await Promise.all([runWorker(3, mode.usePoll), runWorker(4, mode.usePoll)]);
      for (const { report, code } of both) {
        assert.deepEqual(report, { equal: true, length: 200000, watching: 0 });
        assert.equal(code, 0);
      }
    });
  }

  test("terminating a Worker while its loop waits tears the poller down cleanly", { timeout: 30_000 * SCALE }, async () => {
    const source = `
      const { parentPort, workerData } = require("node:worker_threads");
      (async () => {
        const { Dispatcher, loop, socketpair } = await import(workerData.lib);
        const [a, b] = socketpair();
        class Idle extends Dispatcher { handleRead() { this.recv(10); } writable() { return false; } }
        new Idle(a); new Idle(b);
        const p = loop({ timeout: 60 });
        setTimeout(() => parentPort.postMessage("waiting"), 50);
        await p;
      })();
    `;
    const w = new Worker(source, { eval: true, workerData: { lib: LIBRARY_URL } });
    await new Promise<void>((resolve, reject) => {
      w.on("message", () => resolve());
      w.on("error", reject);
    });
    const code = await w.terminate();
    assert.equal(code, 1);  // what terminate() reports for a worker it stopped
    // This thread's poller is untouched: a round trip here still works.
    const { report, code: again } = await runWorker(5, false);
    assert.deepEqual(report, { equal: true, length: 200000, watching: 0 });
    assert.equal(again, 0);
  });
});

// ---- garbage collection --------------------------------------------------------------------------

describe("garbage collection", () => {
  test("a Socket collected while polled closes its fd with a ResourceWarning; the loop goes on", T, async () => {
    const script = `
      import { Dispatcher, Socket, FileWrapper, loop, socketpair } from ${JSON.stringify(LIBRARY_URL)};
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      import fs from "node:fs";
      // What a descriptor number refers to now ("socket:[inode]" on Linux): a number the kernel
      // reused for something else is not the collected object's descriptor still open.
      const identity = (fd) => {
        if (fs.existsSync("/proc/self/fd")) { try { return fs.readlinkSync("/proc/self/fd/" + fd); } catch { return null; } }
        return binding.fdFlags(fd) >= 0 ? "open" : null;
      };
      const warnings = [];
      process.on("warning", (w) => warnings.push({ name: w.name, message: w.message }));
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      const map = new Map();
      // A channel that keeps the loop running until the test is over.
      const [k1, k2] = socketpair();
      class Keeper extends Dispatcher { writable() { return false; } handleRead() { this.recv(100); this.close(); } }
      new Keeper(k1, map);
      const running = loop({ map, timeout: 0.05 });
      let fd, peer, fileFd, ids;
      (() => {
        const [a, b] = socketpair();
        peer = b;
        fd = a.fileno();
        const d = new Dispatcher(a, map);
        d.handleRead = () => {};
        d.writable = () => false;
      })();
      await sleep(100);  // some passes: the poller now watches fd
      const watchingBefore = binding.poller.watching();
      // Take the channel out of the map without closing it, and drop every reference.
      map.get(fd).delChannel(map);
      (() => { const w = new FileWrapper(peer.fileno()); fileFd = w.fd; })();
      ids = [identity(fd), identity(fileFd)];
      for (let i = 0; i < 100 && warnings.length < 2; i++) { globalThis.gc(); await sleep(10); }
      const closed = identity(fd) !== ids[0] && identity(fileFd) !== ids[1];
      const watchingAfter = binding.poller.watching();
      k2.send(Buffer.from("bye"));
      await running;
      k2.close(); peer.close();
      console.log(JSON.stringify({ warnings, fd, fileFd, closed, watchingBefore, watchingAfter, mapSize: map.size }));
    `;
    const r = await runNode(script, { nodeFlags: ["--expose-gc"], timeoutMs: CHILD });
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as {
      warnings: { name: string; message: string }[]; fd: number; fileFd: number; closed: boolean;
      watchingBefore: number; watchingAfter: number; mapSize: number;
    };
    const resource = out.warnings.filter((w) => w.name === "ResourceWarning");
    assert.ok(resource.some((w) => w.message.includes(`fd=${out.fd}`) && /Socket/.test(w.message)), JSON.stringify(out.warnings));
    assert.ok(resource.some((w) => w.message.includes(`fd=${out.fileFd}`) && /FileWrapper/.test(w.message)), JSON.stringify(out.warnings));
    assert.ok(out.closed, "the collected objects' descriptors are closed");
    assert.ok(out.watchingAfter < out.watchingBefore, `watching ${out.watchingBefore} -> ${out.watchingAfter}`);
    assert.equal(out.mapSize, 0);
  });

  test("collecting many unclosed Sockets while a loop runs: no crash, every fd closed", T, async () => {
    const script = `
      import { Socket, Dispatcher, loop, socketpair, AF_UNIX } from ${JSON.stringify(LIBRARY_URL)};
      import { binding } from ${JSON.stringify(NATIVE_URL)};
      import fs from "node:fs";
      // What a descriptor number refers to now ("socket:[inode]" on Linux): a number the kernel
      // reused for something else is not the collected object's descriptor still open.
      const identity = (fd) => {
        if (fs.existsSync("/proc/self/fd")) { try { return fs.readlinkSync("/proc/self/fd/" + fd); } catch { return null; } }
        return binding.fdFlags(fd) >= 0 ? "open" : null;
      };
      let warned = 0;
      process.on("warning", (w) => { if (w.name === "ResourceWarning") warned++; });
      const map = new Map();
      const [k1, k2] = socketpair();
      class Keeper extends Dispatcher { writable() { return false; } handleRead() { this.recv(100); this.close(); } }
      new Keeper(k1, map);
      const running = loop({ map, timeout: 0.01, usePoll: true });
      const fds = [];
      for (let round = 0; round < 5; round++) {
        (() => { for (let i = 0; i < 100; i++) { const fd = new Socket(i % 2 ? AF_UNIX : undefined).fileno(); fds.push([fd, identity(fd)]); } })();
        globalThis.gc();
        await new Promise((r) => setTimeout(r, 5));
      }
      for (let i = 0; i < 100 && warned < fds.length; i++) { globalThis.gc(); await new Promise((r) => setTimeout(r, 5)); }
      const open = fds.filter(([fd, id]) => identity(fd) === id).length;
      k2.send(Buffer.from("bye"));
      await running;
      k2.close();
      console.log(JSON.stringify({ warned, total: fds.length, open }));
    `;
    const r = await runNode(script, { nodeFlags: ["--expose-gc"], timeoutMs: CHILD });
    assert.equal(r.signal, null, describeChild(r));
    assert.equal(r.code, 0, describeChild(r));
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as { warned: number; total: number; open: number };
    assert.equal(out.warned, out.total);
    assert.equal(out.open, 0);
  });
});
