// CPython's test_asyncore.py, DispatcherTests, DispatcherWithSendTests and FileWrapperTest:
// a Dispatcher's defaults, log/logInfo, toString, the unhandled-event warnings, sending through
// DispatcherWithSend, and FileWrapper/FileDispatcher over a plain file.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import {
  type Address, type SocketMap, Dispatcher, DispatcherWithSend, FileDispatcher, FileWrapper, Socket,
  closeAll, loop, poll, socketMap, socketpair,
} from "../src/index.js";
import { captureOutput, lines } from "./helpers/capture.js";
import { LIBRARY_URL, runNode, startNode } from "./helpers/child-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { tmpPath, unlinkQuietly } from "./helpers/tmpdir.js";

// CPython's DispatcherTests.tearDown: nothing may stay in the default map.
afterEach(() => closeAll(undefined, true));

// ---- DispatcherTests -------------------------------------------------------------------------

// CPython: DispatcherTests.test_basic
test("a new Dispatcher is readable and writable", { timeout: 5_000 }, () => {
  const d = new Dispatcher();
  assert.equal(d.readable(), true);
  assert.equal(d.writable(), true);
});

// CPython: DispatcherTests.test_repr (Python checks "<asyncore.dispatcher at 0x...>"; the contract
// here is the subclass's name, its state and its address)
test("toString names the class, the state and the address", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const d = new Dispatcher(null, map);
  assert.match(String(d), /^<Dispatcher\b/);

  class Listener extends Dispatcher {}
  const server = new Listener(null, map);
  server.createSocket();
  server.bind(["127.0.0.1", 0]);
  server.listen(5);
  assert.match(String(server), /^<Listener listening 127\.0\.0\.1:0\b/);

  const [a, b] = socketpair();
  try {
    const connected = new Dispatcher(a, map);
    assert.match(String(connected), /^<Dispatcher connected\b/);
  } finally {
    closeAll(map);
    b.close();
  }
});

// CPython: DispatcherTests.test_log
test("log writes 'log: <message>' lines to stderr", { timeout: 5_000 }, () => {
  const d = new Dispatcher();
  const l1 = "Lovely spam! Wonderful spam!";
  const l2 = "I don't like spam!";
  const out = captureOutput(() => {
    d.log(l1);
    d.log(l2);
  });
  assert.deepEqual(lines(out.stderr), [`log: ${l1}`, `log: ${l2}`]);
  assert.equal(out.stdout, "");
});

// CPython: DispatcherTests.test_log_info
test("logInfo writes '<type>: <message>' lines to stdout", { timeout: 5_000 }, () => {
  const d = new Dispatcher();
  const l1 = "Have you got anything without spam?";
  const l2 = "Why can't she have egg bacon spam and sausage?";
  const l3 = "THAT'S got spam in it!";
  const out = captureOutput(() => {
    d.logInfo(l1, "EGGS");
    d.logInfo(l2);
    d.logInfo(l3, "SPAM");
  });
  assert.deepEqual(lines(out.stdout), [`EGGS: ${l1}`, `info: ${l2}`, `SPAM: ${l3}`]);
  assert.equal(out.stderr, "");
});

// CPython: DispatcherTests.test_unhandled
test("the default handlers warn about unhandled events once warnings are not ignored", { timeout: 5_000 }, () => {
  const d = new Dispatcher();
  d.ignoreLogTypes = new Set();
  const out = captureOutput(() => {
    d.handleExpt();
    d.handleRead();
    d.handleWrite();
    d.handleConnect();
  });
  assert.deepEqual(lines(out.stdout), [
    "warning: unhandled incoming priority event",
    "warning: unhandled read event",
    "warning: unhandled write event",
    "warning: unhandled connect event",
  ]);
});

// TypeScript addition: by default "warning" is in ignoreLogTypes, so the same calls print nothing.
test("warnings are ignored by default", { timeout: 5_000 }, () => {
  const d = new Dispatcher();
  assert.deepEqual([...d.ignoreLogTypes], ["warning"]);
  const out = captureOutput(() => {
    d.handleExpt();
    d.handleRead();
    d.handleWrite();
    d.handleConnect();
  });
  assert.equal(out.stdout, "");
});

// TypeScript addition: the other two default handlers, handleAccepted and handleClose, warn and
// release what they were given.
test("the default handleAccepted closes the socket and handleClose closes the channel, both warning", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, b] = socketpair();
  const d = new Dispatcher(a, map);
  d.ignoreLogTypes = new Set();
  const [c, e] = socketpair();
  const out = captureOutput(() => {
    d.handleAccepted(c, "");
    d.handleClose();
  });
  assert.deepEqual(lines(out.stdout), ["warning: unhandled accepted event", "warning: unhandled close event"]);
  assert.equal(c.fileno(), -1, "handleAccepted closed the accepted socket");
  assert.equal(a.fileno(), -1, "handleClose closed the channel's socket");
  assert.equal(map.size, 0);
  b.close();
  e.close();
});

// TypeScript addition: the default handleError logs a one-line traceback as "error" and closes.
test("the default handleError logs the error and closes the channel", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, b] = socketpair();
  const d = new Dispatcher(a, map);
  const out = captureOutput(() => d.handleError(new RangeError("the spam is off")));
  const [line, ...rest] = lines(out.stdout);
  assert.deepEqual(rest, []);
  assert.match(line!, /^error: uncaptured exception, closing channel <Dispatcher connected.*> \(RangeError:the spam is off \[.*\]\)$/);
  assert.equal(map.size, 0);
  assert.equal(a.fileno(), -1);
  b.close();
});

// ---- DispatcherWithSendTests -----------------------------------------------------------------

/** Python's capture_server in a child process: accepts one connection, keeps what arrives up to a newline. */
const CAPTURE_SERVER = `
import net from "node:net";
const server = net.createServer((conn) => {
  const chunks = [];
  conn.on("data", (d) => {
    chunks.push(d);
    if (d.includes(10)) finish();
  });
  conn.on("end", finish);
  let finished = false;
  function finish() {
    if (finished) return;
    finished = true;
    const all = Buffer.concat(chunks);
    process.stdout.write("captured " + JSON.stringify(all.toString("latin1").replaceAll("\\n", "")) + "\\n");
    conn.destroy();
    server.close();
  }
});
server.listen(0, "127.0.0.1", () => process.stdout.write(server.address().port + "\\n"));
`;

// CPython: DispatcherWithSendTests.test_send (the capture thread is a child process here)
for (const mode of POLLERS) {
  test(`DispatcherWithSend delivers what send() queued, ${mode.name}`, { timeout: 10_000 }, async () => {
    const server = startNode(CAPTURE_SERVER, { timeoutMs: 8_000 });
    const port = Number(await server.firstLine);
    const map: SocketMap = new Map();

    class NoRead extends DispatcherWithSend {
      override readable(): boolean { return false; }
      override handleConnect(): void {}
    }
    const data = Buffer.from("Suppose there isn't a 16-ton weight?");
    const d = new NoRead(null, map);
    try {
      d.createSocket();
      d.connect(["127.0.0.1", port]);
      // Python sleeps to let the connection complete; here the loop runs until it has.
      for (let n = 0; !d.connected && n < 500; n++) await loop({ timeout: 0.01, count: 1, map, usePoll: mode.usePoll });
      assert.equal(d.connected, true, "connected");

      d.send(data);
      d.send(data);
      d.send(Buffer.from("\n"));
      for (let n = 1000; d.outBuffer.length > 0 && n > 0; n--) await loop({ timeout: 0.01, count: 1, map, usePoll: mode.usePoll });
      assert.equal(d.outBuffer.length, 0, "everything was sent");

      const result = await server.done;
      assert.equal(result.code, 0, result.stderr);
      const captured = /^captured (.*)$/m.exec(result.stdout)?.[1];
      assert.equal(captured && JSON.parse(captured), Buffer.concat([data, data]).toString("latin1"));
    } finally {
      closeAll(map);
      server.child.kill();
    }
  });
}

// TypeScript addition: send() on DispatcherWithSend copies what stays queued, so the caller may reuse its buffer.
test("DispatcherWithSend keeps its own copy of queued bytes", { timeout: 10_000 }, async () => {
  const map: SocketMap = new Map();
  const [a, b] = socketpair();
  const d = new DispatcherWithSend(a, map);
  try {
    // Fill the socket buffer so that the next send stays queued.
    const big = Buffer.alloc(4 << 20, 1);
    d.send(big);
    assert.ok(d.outBuffer.length > 0, "the kernel could not take 4 MB at once");
    const mine = Buffer.from("abc");
    d.send(mine);
    mine.fill(0);
    assert.equal(d.outBuffer.subarray(d.outBuffer.length - 3).toString(), "abc");
  } finally {
    closeAll(map);
    b.close();
  }
});

// ---- FileWrapperTest -------------------------------------------------------------------------

const CONTENT = Buffer.from("It's not dead, it's sleeping!");

function withFile(fn: (file: string) => void | Promise<void>): () => Promise<void> {
  return async () => {
    const file = tmpPath("data");
    fs.writeFileSync(file, CONTENT);
    try {
      await fn(file);
    } finally {
      unlinkQuietly(file);
    }
  };
}

// CPython: FileWrapperTest.test_recv
test("FileWrapper reads through its own duplicate of the descriptor", { timeout: 5_000 }, withFile((file) => {
  const fd = fs.openSync(file, "r");
  const w = new FileWrapper(fd);
  fs.closeSync(fd);

  assert.notEqual(w.fd, fd);
  assert.notEqual(w.fileno(), fd);
  assert.equal(w.recv(13).toString(), "It's not dead");
  assert.equal(w.read(6).toString(), ", it's");
  w.close();
  assert.throws(() => w.read(1), { code: "EBADF" });
}));

// CPython: FileWrapperTest.test_send
test("FileWrapper writes through write() and send()", { timeout: 5_000 }, withFile((file) => {
  const d1 = Buffer.from("Come again?");
  const d2 = Buffer.from("I want to buy some cheese.");
  const fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND);
  const w = new FileWrapper(fd);
  fs.closeSync(fd);

  assert.equal(w.write(d1), d1.length);
  assert.equal(w.send(d2), d2.length);
  w.close();
  assert.deepEqual(fs.readFileSync(file), Buffer.concat([CONTENT, d1, d2]));
}));

// CPython: FileWrapperTest.test_dispatcher (Python runs it with use_poll=True; here in both modes)
for (const mode of POLLERS) {
  test(`FileDispatcher reads a file from the loop, ${mode.name}`, { timeout: 5_000 }, withFile(async (file) => {
    const map: SocketMap = new Map();
    const fd = fs.openSync(file, "r");
    const data: Buffer[] = [];
    class Reader extends FileDispatcher {
      override handleRead(): void { data.push(this.recv(29)); }
    }
    new Reader(fd, map);
    fs.closeSync(fd);
    try {
      await loop({ timeout: 0.01, usePoll: mode.usePoll, count: 2, map });
      assert.deepEqual(Buffer.concat(data), CONTENT);
    } finally {
      closeAll(map);
    }
  }));
}

// TypeScript addition: FileDispatcher takes a descriptor, or an object with fileno() or fd.
test("FileDispatcher accepts a number, a fileno() object or an fd object", { timeout: 5_000 }, withFile((file) => {
  const map: SocketMap = new Map();
  const fd = fs.openSync(file, "r");
  try {
    for (const arg of [fd, { fileno: () => fd }, { fd }]) {
      const d = new FileDispatcher(arg, map);
      assert.equal(d.connected, true);
      assert.notEqual(d.fileno(), fd, "the dispatcher works on a duplicate");
      assert.equal(map.get(d.fileno()!), d);
      d.close();
    }
    assert.equal(map.size, 0);
    assert.throws(() => new FileDispatcher("3" as unknown as number, map), TypeError);
  } finally {
    fs.closeSync(fd);
    closeAll(map);
  }
}));

/** A child that drops an open object, collects garbage and reports the warnings it gets. */
function gcWarningScript(create: string): string {
  return `
import * as lib from ${JSON.stringify(LIBRARY_URL)};
import { setTimeout as sleep } from "node:timers/promises";
const seen = [];
process.on("warning", (w) => seen.push(w.name + ": " + w.message));
(() => { ${create} })();
for (let i = 0; i < 50 && seen.length === 0; i++) { globalThis.gc(); await sleep(10); }
process.stdout.write(JSON.stringify(seen) + "\\n");
`;
}

// CPython: FileWrapperTest.test_resource_warning (issue #11453), with Node's gc in a child process
test("a FileWrapper collected while open emits a ResourceWarning", { timeout: 15_000 }, withFile(async (file) => {
  const create = `const fd = fs.openSync(${JSON.stringify(file)}, "r"); new lib.FileWrapper(fd); fs.closeSync(fd);`;
  const script = `import fs from "node:fs";\n${gcWarningScript(create)}`;
  const r = await runNode(script, { nodeFlags: ["--expose-gc"], timeoutMs: 12_000 });
  assert.equal(r.code, 0, r.stderr);
  const warnings = JSON.parse(r.stdout) as string[];
  assert.ok(warnings.some((w) => w.startsWith("ResourceWarning: ")), `warnings: ${r.stdout}`);
}));

// TypeScript addition: the same for a Socket, which the contract also promises.
test("a Socket collected while open emits a ResourceWarning", { timeout: 15_000 }, async () => {
  const r = await runNode(gcWarningScript("new lib.Socket();"), { nodeFlags: ["--expose-gc"], timeoutMs: 12_000 });
  assert.equal(r.code, 0, r.stderr);
  const warnings = JSON.parse(r.stdout) as string[];
  assert.ok(warnings.some((w) => w.startsWith("ResourceWarning: ")), `warnings: ${r.stdout}`);
});

// CPython: FileWrapperTest.test_close_twice
test("FileWrapper.close() reports a failed close once, then does nothing", { timeout: 5_000 }, withFile((file) => {
  const fd = fs.openSync(file, "r");
  const f = new FileWrapper(fd);
  fs.closeSync(fd);

  fs.closeSync(f.fd);  // the duplicate, behind the wrapper's back
  assert.throws(() => f.close(), { code: "EBADF" });
  assert.equal(f.fd, -1);
  f.close();  // twice: harmless
}));

// TypeScript addition (bpo-30980): a second close() must not close a descriptor that reuses the number.
test("FileWrapper.close() twice leaves an unrelated descriptor with the same number open", { timeout: 5_000 }, withFile((file) => {
  const fd = fs.openSync(file, "r");
  const f = new FileWrapper(fd);
  const number = f.fd;
  f.close();
  // fd stays open meanwhile, so the lowest free number is the duplicate's.
  const other = fs.openSync(file, "r");
  fs.closeSync(fd);
  try {
    assert.equal(other, number, "the kernel reuses the lowest free number");
    f.close();
    assert.ok(fs.fstatSync(other).isFile(), "the unrelated descriptor is still open");
  } finally {
    fs.closeSync(other);
  }
}));

// ---- the default map -------------------------------------------------------------------------

// TypeScript addition: dispatchers without a map join socketMap under their descriptor.
test("a dispatcher without a map joins socketMap under its fileno and leaves it on close", { timeout: 5_000 }, () => {
  const d = new Dispatcher();
  d.createSocket();
  const fd = d.fileno()!;
  assert.equal(socketMap.get(fd), d);
  assert.equal((d.socket as Socket).fileno(), fd);
  d.close();
  assert.equal(socketMap.has(fd), false);
  assert.equal(d.fileno(), null);
});

// TypeScript addition: the address the dispatcher was bound to is kept in addr.
test("bind() records the address in addr", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const d = new Dispatcher(null, map);
  try {
    d.createSocket();
    const addr: Address = ["127.0.0.1", 0];
    d.bind(addr);
    assert.deepEqual(d.addr, addr);
  } finally {
    closeAll(map);
  }
});

// TypeScript addition: poll() with the default map and nothing in it returns at once.
test("poll() on an empty default map resolves", { timeout: 5_000 }, async () => {
  assert.equal(socketMap.size, 0);
  await poll();
});
