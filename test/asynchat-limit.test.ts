// maxInputCollected: the optional bound on the bytes collected before a terminator. Past it the
// channel logs one error line naming the limit and the peer, and closes; nothing else changes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { AsyncChat, type Terminator } from "../src/asynchat.js";
import { type Address, Dispatcher, Socket, type SocketMap, closeAll, loop } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";

const b = (s: string): Buffer => Buffer.from(s, "latin1");

/** Input fed through a faked recv(); logInfo() and handleClose() recorded. */
class Bounded extends AsyncChat {
  events: string[] = [];
  logs: [string, string][] = [];
  closes = 0;
  #reads: Buffer[] = [];

  constructor(limit: number | null, terminator: Terminator, sock: Socket | null = null, map?: SocketMap) {
    super(sock, map);
    this.maxInputCollected = limit;
    this.setTerminator(terminator);
  }
  override recv(): Buffer { return this.#reads.shift() ?? Buffer.alloc(0); }
  override collectIncomingData(data: Buffer): void { this.events.push(data.toString("latin1")); }
  override foundTerminator(): void { this.events.push("|"); }
  override logInfo(message: unknown, type = "info"): void { this.logs.push([type, String(message)]); }
  override handleClose(): void { this.closes++; super.handleClose(); }
  feed(...reads: string[]): this {
    for (const r of reads) {
      this.#reads.push(b(r));
      this.handleRead();
    }
    return this;
  }
}

test("up to the limit is fine: exactly the limit, a held-back terminator byte, many short lines", { timeout: 5_000 }, () => {
  const chat = new Bounded(10, "\r\n").feed("0123456789\r\n", "0123456789\r", "\n");
  for (let i = 0; i < 100; i++) chat.feed("abcdefgh\r\n");
  assert.deepEqual(chat.events.slice(0, 4), ["0123456789", "|", "0123456789", "|"]);
  assert.equal(chat.events.length, 204);
  assert.deepEqual(chat.logs, []);
  assert.equal(chat.closes, 0);
});

test("past the limit: one error line naming the limit and the peer, the channel closes, nothing more is delivered", { timeout: 5_000 }, () => {
  const chat = new Bounded(10, "\n");
  chat.addr = ["192.0.2.7", 4321];  // as an accepted channel has its peer's address
  chat.feed("line\n", "01234", "56789");
  assert.equal(chat.logs.length, 0);
  chat.feed("X and more\nnext line\n");
  assert.deepEqual(chat.events, ["line", "|", "01234", "56789"], "the piece that crosses the limit is not delivered");
  assert.equal(chat.logs.length, 1);
  const [type, message] = chat.logs[0]!;
  assert.equal(type, "error");
  assert.match(message, /\b10 bytes\b/);
  assert.match(message, /192\.0\.2\.7:4321/);
  assert.match(message, /maxInputCollected/);
  assert.equal(chat.closes, 1);
});

test("the limit's line goes to stdout through logInfo, as one line", { timeout: 5_000 }, () => {
  class Printing extends AsyncChat {
    override recv(): Buffer { return Buffer.alloc(50, "x"); }
    override collectIncomingData(): void {}
    override foundTerminator(): void {}
  }
  const chat = new Printing();
  chat.maxInputCollected = 16;
  chat.setTerminator("\n");
  chat.addr = ["::1", 8080];
  let out = "";
  const saved = process.stdout.write;
  process.stdout.write = ((chunk: string) => { out += chunk; return true; }) as typeof process.stdout.write;
  try {
    chat.handleRead();  // synchronous: the test runner's own output cannot interleave
  } finally {
    process.stdout.write = saved;
  }
  assert.match(out, /^error: input limit exceeded: \[::1\]:8080 sent more than 16 bytes without a terminator \(maxInputCollected\); closing <Printing[^\n]*>\n$/);
});

test("a handleClose that does not close still leaves the channel closed, and logs once", { timeout: 5_000 }, () => {
  const map: SocketMap = new Map();
  const sock = new Socket();
  try {
    class Stubborn extends Bounded {
      override handleClose(): void { this.closes++; }  // forgets to close
    }
    const chat = new Stubborn(4, "\n", sock, map);
    assert.equal(map.size, 1);
    chat.feed("123456", "789");
    assert.equal(chat.fileno(), null);
    assert.equal(map.size, 0);
    assert.equal(chat.logs.length, 1);
  } finally {
    closeAll(map);
    sock.close();
  }
});

test("the count restarts at each terminator and at setTerminator; null and integer terminators are not bounded", { timeout: 5_000 }, () => {
  const chat = new Bounded(8, "\n").feed("12345678", "\n", "12345678\n");
  assert.equal(chat.closes, 0);
  chat.feed("1234");
  chat.setTerminator("\n");
  chat.feed("12345678\n");
  assert.equal(chat.closes, 0);
  const raw = new Bounded(8, null).feed("x".repeat(1000));
  const counted = new Bounded(8, 1000).feed("y".repeat(1000));
  assert.equal(raw.closes + counted.closes, 0);
  assert.deepEqual(counted.events, ["y".repeat(1000), "|"]);
  const unlimited = new Bounded(null, "\n").feed("z".repeat(1 << 20));
  assert.equal(unlimited.closes, 0);
  const bad = new Bounded(-1, "\n");
  assert.throws(() => bad.feed("x"), RangeError, "a negative limit is an error, not a silent close");
});

for (const mode of POLLERS) {
  test(`a peer that never sends the terminator is cut off; another channel on the loop is unaffected, ${mode.name}`, { timeout: 15_000 }, async () => {
    const map: SocketMap = new Map();
    const logs: [string, string][] = [];
    const handlers: LineEcho[] = [];

    class LineEcho extends AsyncChat {
      #line: Buffer[] = [];
      constructor(sock: Socket) {
        super(sock, map);
        this.maxInputCollected = 1024;
        this.setTerminator("\r\n");
      }
      override collectIncomingData(data: Buffer): void { this.#line.push(data); }
      override foundTerminator(): void {
        this.push(Buffer.concat([...this.#line, b("\r\n")]));
        this.#line = [];
      }
      override logInfo(message: unknown, type = "info"): void { logs.push([type, String(message)]); }
    }

    class Server extends Dispatcher {
      constructor() {
        super(null, map);
        this.createSocket();
        this.bind(["127.0.0.1", 0]);
        this.listen(5);
      }
      override handleAccepted(sock: Socket, _addr: Address): void { handlers.push(new LineEcho(sock)); }
    }

    /** Connects and sends 64 kB of "x" with no terminator; notes when the server cuts it off. */
    class Flooder extends AsyncChat {
      cutOff = false;
      onCutOff = (): void => {};
      constructor(port: number) {
        super(null, map);
        this.createSocket();
        this.connect(["127.0.0.1", port]);
        this.push(Buffer.alloc(64 * 1024, "x"));
      }
      override handleConnect(): void {}
      override collectIncomingData(): void {}
      override foundTerminator(): void {}
      override handleClose(): void {
        this.cutOff = true;
        this.close();
        this.onCutOff();
      }
    }

    /** A well-behaved line client: "hello", then (once the flooder is gone) "after". */
    class LineClient extends AsyncChat {
      replies: string[] = [];
      #line: Buffer[] = [];
      constructor(port: number) {
        super(null, map);
        this.createSocket();
        this.connect(["127.0.0.1", port]);
        this.setTerminator("\r\n");
        this.push(b("hello\r\n"));
      }
      override handleConnect(): void {}
      override collectIncomingData(data: Buffer): void { this.#line.push(data); }
      override foundTerminator(): void {
        this.replies.push(Buffer.concat(this.#line).toString());
        this.#line = [];
        if (this.replies.at(-1) === "after") {
          this.close();
          server.close();
        }
      }
    }

    const server = new Server();
    const port = (server.socket as Socket).getsockname()[1] as number;
    try {
      const client = new LineClient(port);
      const flooder = new Flooder(port);
      const flooderPort = (flooder.socket as Socket).getsockname()[1] as number;  // bound by connect()
      flooder.onCutOff = () => client.push(b("after\r\n"));
      await loop({ map, usePoll: mode.usePoll, timeout: 1, count: 10_000 });

      assert.ok(flooder.cutOff, "the flooder's connection was closed by the server");
      assert.deepEqual(client.replies, ["hello", "after"], "the other channel kept working");
      assert.equal(logs.length, 1, `one log line, got ${JSON.stringify(logs)}`);
      const [type, message] = logs[0]!;
      assert.equal(type, "error");
      assert.match(message, /more than 1024 bytes/);
      assert.ok(message.includes(`127.0.0.1:${flooderPort}`), `the line names the peer 127.0.0.1:${flooderPort}: ${message}`);
      assert.equal(handlers.length, 2);
      assert.equal(map.size, 0, "everything closed");
    } finally {
      closeAll(map);
    }
  });
}
