// CPython's test_asyncore.py, HelperFunctionTests: read/write/exception/readwrite, closeAll,
// compactTraceback, strerror and ExitNow, over fake channel objects (no sockets).
import { test } from "node:test";
import assert from "node:assert/strict";
import os from "node:os";
import {
  type Channel, ExitNow, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI,
  closeAll, compactTraceback, exception, read, readwrite, socketMap, strerror, write,
} from "../src/index.js";

/** A socket stand-in that only records close(). */
class DummySocket {
  closed = false;
  close(): void { this.closed = true; }
  fileno(): number { return 42; }
}

/** A channel whose close() closes its dummy socket (what closeAll() must call). */
class DummyChannel implements Channel {
  socket = new DummySocket();
  readable(): boolean { return true; }
  writable(): boolean { return true; }
  handleReadEvent(): void {}
  handleWriteEvent(): void {}
  handleExptEvent(): void {}
  handleError(): void {}
  handleClose(): void {}
  close(): void { this.socket.close(); }
}

/** Every handler throws ExitNow, which must pass through read/write/exception/readwrite. */
class ExitingDummy implements Channel {
  readable(): boolean { return true; }
  writable(): boolean { return true; }
  handleReadEvent(): void { throw new ExitNow(); }
  handleWriteEvent(): void { throw new ExitNow(); }
  handleExptEvent(): void { throw new ExitNow(); }
  handleClose(): void { throw new ExitNow(); }
  handleError(): void { assert.fail("handleError must not see ExitNow"); }
}

/** Every handler throws an ordinary error, which must reach handleError (the very object). */
class CrashingDummy implements Channel {
  errorHandled = false;
  thrown: Error[] = [];
  handled: unknown[] = [];
  readable(): boolean { return true; }
  writable(): boolean { return true; }
  #crash(): never {
    const err = new Error("crash");
    this.thrown.push(err);
    throw err;
  }
  handleReadEvent(): void { this.#crash(); }
  handleWriteEvent(): void { this.#crash(); }
  handleExptEvent(): void { this.#crash(); }
  handleClose(): void { this.#crash(); }
  handleError(err: unknown): void {
    this.errorHandled = true;
    this.handled.push(err);
  }
}

// CPython: HelperFunctionTests.test_readwriteexc
test("read, write and exception let ExitNow through and send other errors to handleError", { timeout: 5_000 }, () => {
  const exiting = new ExitingDummy();
  assert.throws(() => read(exiting), ExitNow);
  assert.throws(() => write(exiting), ExitNow);
  assert.throws(() => exception(exiting), ExitNow);

  for (const helper of [read, write, exception]) {
    const crashing = new CrashingDummy();
    helper(crashing);
    assert.equal(crashing.errorHandled, true, `${helper.name}() must call handleError`);
    assert.equal(crashing.handled.length, 1);
    assert.equal(crashing.handled[0], crashing.thrown[0], "handleError receives the very object thrown");
  }
});

// CPython: HelperFunctionTests.test_readwrite
test("readwrite calls the handler each POLL flag stands for", { timeout: 5_000 }, () => {
  type Called = "read" | "expt" | "write" | "closed" | "errorHandled";
  const expected: [number, Called][] = [
    [POLLIN, "read"],
    [POLLPRI, "expt"],
    [POLLOUT, "write"],
    [POLLERR, "closed"],
    [POLLHUP, "closed"],
    [POLLNVAL, "closed"],
  ];

  class TestObj implements Channel {
    read = false;
    write = false;
    closed = false;
    expt = false;
    errorHandled = false;
    readable(): boolean { return true; }
    writable(): boolean { return true; }
    handleReadEvent(): void { this.read = true; }
    handleWriteEvent(): void { this.write = true; }
    handleClose(): void { this.closed = true; }
    handleExptEvent(): void { this.expt = true; }
    handleError(): void { this.errorHandled = true; }
  }

  const attributes: Called[] = ["read", "expt", "write", "closed", "errorHandled"];
  for (const [flag, attr] of expected) {
    const obj = new TestObj();
    assert.equal(obj[attr], false);
    readwrite(obj, flag);
    // Only the handler the flag stands for has run.
    for (const a of attributes) assert.equal(obj[a], a === attr, `flag ${flag}: ${a}`);

    assert.throws(() => readwrite(new ExitingDummy(), flag), ExitNow, `flag ${flag}: ExitNow passes through`);

    const crashing = new CrashingDummy();
    assert.equal(crashing.errorHandled, false);
    readwrite(crashing, flag);
    assert.equal(crashing.errorHandled, true, `flag ${flag}: other errors go to handleError`);
    assert.equal(crashing.handled[0], crashing.thrown[0]);
  }
});

function closeAllCheck(useDefault: boolean): void {
  const channels: DummyChannel[] = [];
  const testMap = useDefault ? socketMap : new Map<number, Channel>();
  // Keys of a fake map: no real descriptors are involved.
  for (let i = 0; i < 10; i++) {
    const c = new DummyChannel();
    channels.push(c);
    assert.equal(c.socket.closed, false);
    testMap.set(i, c);
  }
  if (useDefault) closeAll();
  else closeAll(testMap);
  assert.equal(testMap.size, 0);
  for (const c of channels) assert.equal(c.socket.closed, true);
}

// CPython: HelperFunctionTests.test_closeall
test("closeAll(map) closes every channel of the map and empties it", { timeout: 5_000 }, () => {
  closeAllCheck(false);
});

// CPython: HelperFunctionTests.test_closeall_default (Python swaps socket_map for its test map;
// here the channels go into the default socketMap itself)
test("closeAll() closes every channel of socketMap and empties it", { timeout: 5_000 }, () => {
  assert.equal(socketMap.size, 0, "socketMap starts empty");
  try {
    closeAllCheck(true);
  } finally {
    socketMap.clear();
  }
});

// TypeScript addition: closeAll's error policy (Python's close_all re-raises unless ignore_all,
// and skips EBADF).
test("closeAll skips EBADF, re-raises other errors unless ignoreAll, and always lets ExitNow through", { timeout: 5_000 }, () => {
  const failing = (err: unknown): Channel => Object.assign(new DummyChannel(), { close(): void { throw err; } });
  const ebadf = Object.assign(new Error("closed"), { code: "EBADF" });
  const other = new Error("boom");

  const m1 = new Map<number, Channel>([[1, failing(ebadf)], [2, new DummyChannel()]]);
  closeAll(m1);
  assert.equal(m1.size, 0);

  const m2 = new Map<number, Channel>([[1, failing(other)]]);
  assert.throws(() => closeAll(m2), (err) => err === other);

  const m3 = new Map<number, Channel>([[1, failing(other)], [2, new DummyChannel()]]);
  closeAll(m3, true);
  assert.equal(m3.size, 0);

  const m4 = new Map<number, Channel>([[1, failing(new ExitNow())]]);
  assert.throws(() => closeAll(m4, true), ExitNow);
});

// CPython: HelperFunctionTests.test_compact_traceback
test("compactTraceback gives the innermost frame, the error's name and message, and the frames", { timeout: 5_000 }, () => {
  let caught: unknown;
  let probeLine = "";
  function testCompactTraceback(): void {
    // Both errors are created on one line, so the probe tells the line the spam was thrown from.
    const err = new Error("I don't like spam!"), probe = new Error("probe");
    probeLine = /:(\d+):\d+\)?$/.exec(probe.stack!.split("\n")[1]!)![1]!;
    throw err;
  }
  try {
    testCompactTraceback();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error);
  const [[file, func, line], name, message, info] = compactTraceback(caught);
  assert.match(file, /asyncore-helpers\.test\.js$/);
  assert.equal(func, "testCompactTraceback");
  assert.equal(line, probeLine);
  assert.equal(name, "Error");
  assert.equal(message, "I don't like spam!");
  // Outermost frame first: the innermost one closes the list.
  assert.ok(info.endsWith(`[${file}|${func}|${line}]`), info);
  assert.match(info, /^(\[[^\]|]*\|[^\]|]*\|\d+\] ?)+$/);
});

// TypeScript addition: anything can be thrown in JavaScript; the summary must still be complete.
test("compactTraceback copes with a thrown non-Error", { timeout: 5_000 }, () => {
  const [frame, name, message, info] = compactTraceback("just a string");
  assert.equal(frame.length, 3);
  assert.equal(typeof name, "string");
  assert.equal(message, "just a string");
  assert.ok(info.length > 0);
});

// CPython: DispatcherTests.test_strerror (bug #8573)
test("strerror gives the system's text for an errno and never an empty string", { timeout: 5_000 }, () => {
  const EPERM = os.constants.errno.EPERM;
  assert.equal(strerror(EPERM).toLowerCase(), "operation not permitted");
  assert.notEqual(strerror(-1), "");
  assert.notEqual(strerror(999_999), "");
  assert.notEqual(strerror(Number.NaN), "");
});

// TypeScript addition: ExitNow is an Error subclass with its own name (Python's class ExitNow(Exception)).
test("ExitNow is an Error named ExitNow", { timeout: 5_000 }, () => {
  const e = new ExitNow("stop");
  assert.ok(e instanceof Error);
  assert.ok(e instanceof ExitNow);
  assert.equal(e.name, "ExitNow");
  assert.equal(e.message, "stop");
});
