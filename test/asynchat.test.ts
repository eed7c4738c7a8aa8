// The tests of CPython 3.11's Lib/test/test_asynchat.py, ported. Its threaded echo server is a
// separate Python process here (test/peers/asynchat_echo_server.py); every loop test runs once
// per poller mode. Each test names the CPython test it ports.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncChat, type Terminator, findPrefixAtEnd, SimpleProducer } from "../src/asynchat.js";
import { AF_INET, SOCK_STREAM, type SocketMap, closeAll, loop, socketpair } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";
import { type EchoServerResult, pythonSkipReason, startEchoServer } from "./helpers/asynchat-echo-server.js";

const SERVER_QUIT = Buffer.from("QUIT\n");
const b = (s: string): Buffer => Buffer.from(s, "latin1");
const skip = pythonSkipReason();

/** CPython's echo_client: collects lines into `contents`. */
class EchoClient extends AsyncChat {
  contents: Buffer[] = [];
  buffer: Buffer = Buffer.alloc(0);

  constructor(terminator: Terminator, port: number, map: SocketMap) {
    super(null, map);
    this.createSocket(AF_INET, SOCK_STREAM);
    this.connect(["127.0.0.1", port]);
    this.setTerminator(terminator);
  }

  override handleConnect(): void {}

  // On some systems poll() reports a hang-up as a priority event at the end: nothing to do.
  override handleExpt(): void {}

  override collectIncomingData(data: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, data]);
  }

  override foundTerminator(): void {
    this.contents.push(this.buffer);
    this.buffer = Buffer.alloc(0);
  }
}

/**
 * Starts the echo peer, lets `setup` connect a client to it, runs the loop until the client is
 * done (the peer closes after echoing) and waits for the peer to exit.
 */
async function withEchoServer(
  usePoll: boolean,
  setup: (port: number, map: SocketMap) => EchoClient,
  options: { chunk?: number; waitStdin?: boolean } = {},
): Promise<{ client: EchoClient; server: EchoServerResult }> {
  const server = await startEchoServer(options);
  const map: SocketMap = new Map();
  try {
    const client = setup(server.port, map);
    // CPython: loop(count=300, timeout=.01). The count here is larger so that a slow machine
    // still finishes; a working run ends much earlier, when the peer closes and the map empties.
    await loop({ map, usePoll, timeout: 0.01, count: 3000 });
    server.release();
    const result = await server.done;
    assert.equal(result.code, 0, `the echo peer failed: ${result.stderr}`);
    assert.equal(map.size, 0, "the client should have closed when the peer did");
    return { client, server: result };
  } finally {
    closeAll(map);
  }
}

for (const mode of POLLERS) {
  // CPython TestAsynchat.line_terminator_check (and TestAsynchat_WithPoll for usePoll: true).
  const lineTerminatorCheck = async (term: Buffer, serverChunk: number): Promise<void> => {
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(term, port, map);
      c.push(b("hello "));
      c.push(Buffer.concat([b("world"), term]));
      c.push(Buffer.concat([b("I'm not dead yet!"), term]));
      c.push(SERVER_QUIT);
      return c;
    }, { chunk: serverChunk });
    assert.deepEqual(client.contents, [b("hello world"), b("I'm not dead yet!")], `terminator ${JSON.stringify(term.toString())}, echo chunk ${serverChunk}`);
  };

  // CPython TestAsynchat.test_line_terminator1: one-byte terminator, echoed 1, 2, 3 bytes at a time.
  test(`line terminator of 1 byte, ${mode.name}`, { timeout: 60_000, skip }, async () => {
    for (const l of [1, 2, 3]) await lineTerminatorCheck(b("\n"), l);
  });

  // CPython TestAsynchat.test_line_terminator2: two-byte terminator.
  test(`line terminator of 2 bytes, ${mode.name}`, { timeout: 60_000, skip }, async () => {
    for (const l of [1, 2, 3]) await lineTerminatorCheck(b("\r\n"), l);
  });

  // CPython TestAsynchat.test_line_terminator3: three-byte terminator.
  test(`line terminator of 3 bytes, ${mode.name}`, { timeout: 60_000, skip }, async () => {
    for (const l of [1, 2, 3]) await lineTerminatorCheck(b("qqq"), l);
  });

  // CPython TestAsynchat.numeric_terminator_check: read a fixed number of bytes.
  const numericTerminatorCheck = async (termlen: number): Promise<void> => {
    const data = b("hello world, I'm not dead yet!\n");
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(termlen, port, map);
      c.push(data);
      c.push(SERVER_QUIT);
      return c;
    });
    assert.deepEqual(client.contents, [data.subarray(0, termlen)]);
    // After the count, the terminator is 0: the rest passes through to collectIncomingData().
    assert.equal(client.getTerminator(), 0);
    assert.deepEqual(client.buffer, data.subarray(termlen));
  };

  // CPython TestAsynchat.test_numeric_terminator1 (Python checked ints and longs; one number type here).
  test(`numeric terminator of 1, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    await numericTerminatorCheck(1);
  });

  // CPython TestAsynchat.test_numeric_terminator2.
  test(`numeric terminator of 6, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    await numericTerminatorCheck(6);
  });

  // CPython TestAsynchat.test_none_terminator: everything goes to collectIncomingData().
  test(`null terminator, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    const data = b("hello world, I'm not dead yet!\n");
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(null, port, map);
      c.push(data);
      c.push(SERVER_QUIT);
      return c;
    });
    assert.deepEqual(client.contents, []);
    assert.deepEqual(client.buffer, data);
  });

  // CPython TestAsynchat.test_simple_producer.
  test(`simple producer, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    const data = b("hello world\nI'm not dead yet!\n");
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(b("\n"), port, map);
      c.pushWithProducer(new SimpleProducer(Buffer.concat([data, SERVER_QUIT]), 8));
      return c;
    });
    assert.deepEqual(client.contents, [b("hello world"), b("I'm not dead yet!")]);
  });

  // CPython TestAsynchat.test_string_producer: bytes given to pushWithProducer().
  test(`bytes given to pushWithProducer, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    const data = b("hello world\nI'm not dead yet!\n");
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(b("\n"), port, map);
      c.pushWithProducer(Buffer.concat([data, SERVER_QUIT]));
      return c;
    });
    assert.deepEqual(client.contents, [b("hello world"), b("I'm not dead yet!")]);
  });

  // CPython TestAsynchat.test_empty_line: an empty line is reported as an empty piece.
  test(`empty line, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(b("\n"), port, map);
      c.push(b("hello world\n\nI'm not dead yet!\n"));
      c.push(SERVER_QUIT);
      return c;
    });
    assert.deepEqual(client.contents, [b("hello world"), b(""), b("I'm not dead yet!")]);
  });

  // CPython TestAsynchat.test_close_when_done: the peer echoes only after the client has closed
  // (it waits for our go on stdin), so nothing comes back; it did receive the data.
  test(`closeWhenDone, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    let closedBeforeRelease = false;
    const { client, server } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(b("\n"), port, map);
      c.push(b("hello world\nI'm not dead yet!\n"));
      c.push(SERVER_QUIT);
      c.closeWhenDone();
      const close = c.close.bind(c);
      c.close = () => { closedBeforeRelease = true; close(); };
      return c;
    }, { waitStdin: true });
    assert.ok(closedBeforeRelease, "closeWhenDone() should have closed the channel");
    assert.deepEqual(client.contents, []);
    assert.ok(server.received.length > 0, "the peer should have received something");
    assert.deepEqual(server.received, b("hello world\nI'm not dead yet!\n"));
  });

  // CPython TestAsynchat.test_push (issue #12523): push() takes bytes only.
  test(`push takes bytes only, ${mode.name}`, { timeout: 30_000, skip }, async () => {
    const { client } = await withEchoServer(mode.usePoll, (port, map) => {
      const c = new EchoClient(b("\n"), port, map);
      const data = b("bytes\n");
      c.push(data);
      c.push(new Uint8Array(data));  // bytearray
      // memoryview: a view into a larger buffer
      const big = Buffer.concat([b("xx"), data, b("yy")]);
      c.push(new Uint8Array(big.buffer, big.byteOffset + 2, data.length));
      assert.throws(() => c.push(10 as unknown as Uint8Array), TypeError);
      assert.throws(() => c.push("unicode" as unknown as Uint8Array), TypeError);
      c.push(SERVER_QUIT);
      return c;
    });
    assert.deepEqual(client.contents, [b("bytes"), b("bytes"), b("bytes")]);
  });
}

// CPython TestAsynchatMocked.test_blockingioerror (issue #16133): handleRead() ignores a
// would-block recv. Here the recv really would block: the other end of a socketpair sent nothing.
test("handleRead ignores a would-block recv", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const [a, other] = socketpair();
  try {
    const errors: unknown[] = [];
    const chat = new AsyncChat(a, map);
    chat.handleError = (err: unknown) => { errors.push(err); };
    chat.setTerminator("\n");
    chat.handleRead();
    assert.deepEqual(errors, []);
    assert.equal(map.size, 1, "the channel stays open");
  } finally {
    closeAll(map);
    other.close();
  }
});

// CPython TestAsynchatMocked.test_blockingioerror, with a mocked recv as CPython does: both
// spellings of would-block are ignored; any other system error goes to handleError() (Python
// catches OSError there).
test("handleRead: would-block from a mocked recv is ignored, other system errors go to handleError", { timeout: 5_000 }, () => {
  for (const code of ["EAGAIN", "EWOULDBLOCK", "EIO"]) {
    const errors: unknown[] = [];
    const failure = Object.assign(new Error(`recv ${code}`), { code, errno: -11, syscall: "recv" });
    class Mocked extends AsyncChat {
      override recv(): Buffer { throw failure; }
      override handleError(err: unknown): void { errors.push(err); }
    }
    new Mocked().handleRead();
    assert.deepEqual(errors, code === "EIO" ? [failure] : [], code);
  }
});

// CPython TestHelperFunctions.test_find_prefix_at_end.
test("findPrefixAtEnd", { timeout: 5_000 }, () => {
  assert.equal(findPrefixAtEnd("qwerty\r", "\r\n"), 1);
  assert.equal(findPrefixAtEnd("qwertydkjf", "\r\n"), 0);
  // The same with bytes, and the longest prefix wins.
  assert.equal(findPrefixAtEnd(b("qwerty\r"), b("\r\n")), 1);
  assert.equal(findPrefixAtEnd(b("qwertydkjf"), b("\r\n")), 0);
  assert.equal(findPrefixAtEnd("xx\r\n.\r", "\r\n.\r\n"), 4);
  assert.equal(findPrefixAtEnd(b("aaa"), b("aaab")), 3);
  assert.equal(findPrefixAtEnd("", "\r\n"), 0);
  assert.equal(findPrefixAtEnd("abc", ""), 0);
  assert.throws(() => findPrefixAtEnd("abc", b("c") as unknown as string), TypeError);
});

// CPython TestNotConnected.test_disallow_negative_terminator (issue #11259): Python's ValueError
// is RangeError here.
test("setTerminator refuses a negative number", { timeout: 5_000 }, () => {
  const client = new AsyncChat();
  assert.throws(() => client.setTerminator(-1), RangeError);
});
