// CPython's test_asyncore.py, BaseTestAPI and its TestAPI_Use{IPv4,IPv6,Unix}{Select,Poll}
// classes: every test runs over IPv4, IPv6 and Unix sockets, with select-style and poll-style
// passes. Each test has a private map; the handlers rethrow errors (as BaseTestHandler's
// handle_error does with a bare `raise`), so a handler error rejects the loop and fails the test.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  AF_INET, AF_INET6, AF_UNIX, type Address, type SocketMap, Dispatcher, MSG_OOB, SOCK_STREAM, SOL_SOCKET,
  SO_LINGER, SO_REUSEADDR, Socket, closeAll, loop,
} from "../src/index.js";
import { type AddressFamily, addressFamilies } from "./helpers/families.js";
import { type PollerMode, POLLERS } from "./helpers/pollers.js";
import { unlinkQuietly } from "./helpers/tmpdir.js";

/** Python's BaseTestHandler: every handler not meant to run throws, and errors are rethrown. */
class BaseTestHandler extends Dispatcher {
  flag = false;
  constructor(sock: Socket | null, map: SocketMap) {
    super(sock, map);
  }
  override handleAccept(): void { throw new Error("handleAccept not supposed to be called"); }
  override handleAccepted(_sock: Socket, _addr: Address): void { throw new Error("handleAccepted not supposed to be called"); }
  override handleConnect(): void { throw new Error("handleConnect not supposed to be called"); }
  override handleExpt(): void { throw new Error("handleExpt not supposed to be called"); }
  override handleClose(): void { throw new Error("handleClose not supposed to be called"); }
  override handleError(err: unknown): void { throw err; }
}

type HandlerClass = new (sock: Socket, map: SocketMap) => Dispatcher;

/** Binds `sock`; a Unix path is removed first (Python's bind_af_aware). */
function bindAfAware(sock: Socket, addr: Address): void {
  if (sock.family === AF_UNIX && typeof addr === "string") unlinkQuietly(addr);
  sock.bind(addr);
}

/** Python's BaseServer: listens and hands each connection to `handler`. */
class BaseServer extends Dispatcher {
  readonly handler: HandlerClass;
  readonly map: SocketMap;
  constructor(family: number, addr: Address, map: SocketMap, handler: HandlerClass = BaseTestHandler) {
    super(null, map);
    this.map = map;
    this.createSocket(family);
    this.setReuseAddr();
    bindAfAware(this.socket as Socket, addr);
    this.listen(5);
    this.handler = handler;
  }
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }
  override handleAccepted(sock: Socket): void {
    new this.handler(sock, this.map);
  }
  override handleError(err: unknown): void { throw err; }
}

/** Python's BaseClient: connects at once; a connect event is expected. */
class BaseClient extends BaseTestHandler {
  constructor(family: number, address: Address, map: SocketMap) {
    super(null, map);
    this.createSocket(family);
    this.connect(address);
  }
  override handleConnect(): void {}
}

interface Ctx { fam: AddressFamily; mode: PollerMode; map: SocketMap; addr: Address }

/**
 * Python's loop_waiting_for_flag: one pass at a time until `instance.flag` is set, for at most
 * five seconds; the test fails if it never is.
 */
async function loopWaitingForFlag(ctx: Ctx, instance: { flag: boolean }, seconds = 5): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (ctx.map.size > 0 && Date.now() < deadline) {
    await loop({ timeout: 0.01, count: 1, usePoll: ctx.mode.usePoll, map: ctx.map });
    if (instance.flag) return;
  }
  assert.fail("flag not set");
}

type ApiTest = (ctx: Ctx) => void | Promise<void>;
interface ApiCase { name: string; run: ApiTest; skip?: (ctx: Omit<Ctx, "map" | "addr">) => string | false }

const NOT_UNIX = "Not applicable to AF_UNIX sockets.";

const cases: ApiCase[] = [
  // CPython: BaseTestAPI.test_handle_connect
  {
    name: "handleConnect is called on connect()",
    run: async (ctx) => {
      class TestClient extends BaseClient {
        override handleConnect(): void { this.flag = true; }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
    },
  },
  // CPython: BaseTestAPI.test_handle_accept
  {
    name: "handleAccept is called when a client connects",
    run: async (ctx) => {
      class TestListener extends BaseTestHandler {
        address: Address;
        constructor(family: number, addr: Address, map: SocketMap) {
          super(null, map);
          this.createSocket(family);
          bindAfAware(this.socket as Socket, addr);
          this.listen(5);
          this.address = (this.socket as Socket).getsockname();
        }
        override handleAccept(): void { this.flag = true; }
      }
      const server = new TestListener(ctx.fam.family, ctx.addr, ctx.map);
      new BaseClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, server);
    },
  },
  // CPython: BaseTestAPI.test_handle_accepted
  {
    name: "handleAccepted is called when a client connects",
    run: async (ctx) => {
      class TestListener extends BaseTestHandler {
        address: Address;
        peer: Address | null = null;
        constructor(family: number, addr: Address, map: SocketMap) {
          super(null, map);
          this.createSocket(family);
          bindAfAware(this.socket as Socket, addr);
          this.listen(5);
          this.address = (this.socket as Socket).getsockname();
        }
        override handleAccept(): void { Dispatcher.prototype.handleAccept.call(this); }
        override handleAccepted(sock: Socket, addr: Address): void {
          assert.ok(sock instanceof Socket);
          sock.close();
          this.peer = addr;
          this.flag = true;
        }
      }
      const server = new TestListener(ctx.fam.family, ctx.addr, ctx.map);
      const client = new BaseClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, server);
      // The peer's address is the client's own (inet; an unbound Unix client has an empty name).
      if (ctx.fam.family !== AF_UNIX) assert.deepEqual(server.peer?.slice(0, 2), (client.socket as Socket).getsockname().slice(0, 2));
    },
  },
  // CPython: BaseTestAPI.test_handle_read
  {
    name: "handleRead is called when data arrives",
    run: async (ctx) => {
      class TestClient extends BaseClient {
        override handleRead(): void { this.flag = true; }
      }
      class TestHandler extends BaseTestHandler {
        constructor(conn: Socket, map: SocketMap) {
          super(conn, map);
          this.send(Buffer.alloc(1024, "x"));
        }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map, TestHandler);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
    },
  },
  // CPython: BaseTestAPI.test_handle_write
  {
    name: "handleWrite is called",
    run: async (ctx) => {
      class TestClient extends BaseClient {
        override handleWrite(): void { this.flag = true; }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
    },
  },
  // CPython: BaseTestAPI.test_handle_close
  {
    name: "handleClose is called when the other end closes the connection",
    run: async (ctx) => {
      class TestClient extends BaseClient {
        // handleClose comes from a recv() that reads the end of the stream
        override handleRead(): void { this.recv(1024); }
        override handleClose(): void {
          this.flag = true;
          this.close();
        }
      }
      class TestHandler extends BaseTestHandler {
        constructor(conn: Socket, map: SocketMap) {
          super(conn, map);
          this.close();
        }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map, TestHandler);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
    },
  },
  // CPython: BaseTestAPI.test_handle_close_after_conn_broken (issues #5661 and #11265:
  // ECONNRESET/EPIPE on send closes the channel)
  {
    name: "handleClose is called when a send hits a broken connection",
    run: async (ctx) => {
      const data = Buffer.alloc(128);
      class TestClient extends BaseClient {
        override handleWrite(): void { this.send(data); }
        override handleClose(): void {
          this.flag = true;
          this.close();
        }
        override handleExpt(): void {
          this.flag = true;
          this.close();
        }
      }
      class TestHandler extends BaseTestHandler {
        override handleRead(): void {
          this.recv(data.length);
          this.close();
        }
        override writable(): boolean { return false; }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map, TestHandler);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
    },
  },
  // CPython: BaseTestAPI.test_handle_expt (OOB data; skipped on Solaris, where OOB is broken)
  {
    name: "handleExpt is called when out-of-band data arrives",
    skip: ({ fam, mode }) => {
      if (fam.family === AF_UNIX) return NOT_UNIX;
      if (process.platform === "darwin" && mode.usePoll) return "poll may fail on macOS; see issue #28087";
      return false;
    },
    run: async (ctx) => {
      let oob: Buffer | null = null;
      class TestClient extends BaseClient {
        override handleExpt(): void {
          oob = (this.socket as Socket).recv(1024, MSG_OOB);
          this.flag = true;
        }
      }
      class TestHandler extends BaseTestHandler {
        constructor(conn: Socket, map: SocketMap) {
          super(conn, map);
          (this.socket as Socket).send(Buffer.from([244]), MSG_OOB);
        }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map, TestHandler);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
      assert.deepEqual(oob, Buffer.from([244]));
    },
  },
  // CPython: BaseTestAPI.test_handle_error (Python divides by zero; JavaScript does not throw
  // there, so the handler throws an error class of its own)
  {
    name: "handleError receives the error a handler threw",
    run: async (ctx) => {
      class ZeroDivisionError extends Error {}
      class TestClient extends BaseClient {
        override handleWrite(): void { throw new ZeroDivisionError("float division by zero"); }
        override handleError(err: unknown): void {
          this.flag = true;
          if (!(err instanceof ZeroDivisionError)) throw new Error("exception not raised");
        }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map);
      const client = new TestClient(ctx.fam.family, server.address, ctx.map);
      await loopWaitingForFlag(ctx, client);
    },
  },
  // CPython: BaseTestAPI.test_connection_attributes
  {
    name: "connected and accepting follow the connection's life",
    run: async (ctx) => {
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map);
      const client = new BaseClient(ctx.fam.family, server.address, ctx.map);

      // we start disconnected (client.connected cannot be taken for granted on every platform)
      assert.equal(server.connected, false);
      assert.equal(server.accepting, true);
      assert.equal(client.accepting, false);

      // some passes, so that the client connects to the server
      await loop({ timeout: 0.01, usePoll: ctx.mode.usePoll, count: 100, map: ctx.map });
      assert.equal(server.connected, false);
      assert.equal(server.accepting, true);
      assert.equal(client.connected, true);
      assert.equal(client.accepting, false);

      // disconnect the client
      client.close();
      assert.equal(server.connected, false);
      assert.equal(server.accepting, true);
      assert.equal(client.connected, false);
      assert.equal(client.accepting, false);

      // stop serving
      server.close();
      assert.equal(server.connected, false);
      assert.equal(server.accepting, false);
    },
  },
  // CPython: BaseTestAPI.test_create_socket
  {
    name: "createSocket makes a non-blocking, non-inheritable stream socket of the family",
    run: (ctx) => {
      const s = new Dispatcher(null, ctx.map);
      s.createSocket(ctx.fam.family);
      const sock = s.socket as Socket;
      assert.equal(sock.type, SOCK_STREAM);
      assert.equal(sock.family, ctx.fam.family);
      assert.equal(sock.gettimeout(), 0);
      assert.equal(sock.getInheritable(), false);
    },
  },
  // CPython: BaseTestAPI.test_bind
  {
    name: "bind to an address in use throws EADDRINUSE",
    skip: ({ fam }) => (fam.family === AF_UNIX ? NOT_UNIX : false),
    run: (ctx) => {
      const s1 = new Dispatcher(null, ctx.map);
      s1.createSocket(ctx.fam.family);
      s1.bind(ctx.addr);
      s1.listen(5);
      const port = ((s1.socket as Socket).getsockname() as readonly [string, number])[1];

      const s2 = new Dispatcher(null, ctx.map);
      s2.createSocket(ctx.fam.family);
      // EADDRINUSE tells that the first socket was bound
      assert.throws(() => s2.bind([(ctx.addr as readonly [string, number])[0], port]), { code: "EADDRINUSE" });
    },
  },
  // CPython: BaseTestAPI.test_set_reuse_addr
  {
    name: "setReuseAddr sets SO_REUSEADDR",
    skip: ({ fam }) => (fam.family === AF_UNIX ? NOT_UNIX : false),
    run: (ctx) => {
      const probe = new Socket(ctx.fam.family);
      try {
        probe.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1);
      } catch {
        return;  // as in Python: SO_REUSEADDR not supported on this platform
      } finally {
        probe.close();
      }
      // SO_REUSEADDR works here, so the dispatcher must set it too.
      const s = new Dispatcher(new Socket(ctx.fam.family), ctx.map);
      assert.equal(s.connected, false, "an unconnected socket makes an unconnected dispatcher");
      assert.equal((s.socket as Socket).getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
      s.close();
      s.createSocket(ctx.fam.family);
      s.setReuseAddr();
      assert.notEqual((s.socket as Socket).getsockopt(SOL_SOCKET, SO_REUSEADDR), 0);
    },
  },
  // CPython: BaseTestAPI.test_quick_connect (bpo-10340: a connection reset before it is
  // accepted must not break the server). Python runs the loop in a thread while the main thread
  // connects; here the client connects from a timer while the loop waits.
  {
    name: "a connection reset right away does not break the server",
    skip: ({ fam }) => (fam.family === AF_INET || fam.family === AF_INET6 ? false : "test specific to AF_INET and AF_INET6"),
    run: async (ctx) => {
      class Handler extends BaseTestHandler {
        // the reset reaches the accepted channel as a close: that is expected here
        override handleClose(): void { this.close(); }
      }
      const server = new BaseServer(ctx.fam.family, ctx.addr, ctx.map, Handler);
      let connectError: unknown = null;
      const timer = setTimeout(() => {
        const s = new Socket(ctx.fam.family, SOCK_STREAM);
        try {
          // SO_LINGER on with a zero time: close() sends RST at once
          const linger = Buffer.alloc(8);
          linger.writeInt32LE(1, 0);
          linger.writeInt32LE(0, 4);
          s.setsockopt(SOL_SOCKET, SO_LINGER, linger);
          s.connectEx(server.address);
        } catch (err) {
          connectError = err;
        } finally {
          s.close();
        }
      }, 20);
      try {
        // 5 passes of up to 100 ms, as Python's thread runs; the server's handleError rethrows.
        await loop({ timeout: 0.1, count: 5, usePoll: ctx.mode.usePoll, map: ctx.map });
      } finally {
        clearTimeout(timer);
      }
      assert.equal(connectError, null);
      assert.equal(server.accepting, true);
    },
  },
];

for (const fam of addressFamilies) {
  // CPython: TestAPI_UseIPv4Sockets / TestAPI_UseIPv6Sockets / TestAPI_UseUnixSockets
  describe(`TestAPI_Use${fam.name}Sockets`, () => {
    for (const mode of POLLERS) {
      // CPython: TestAPI_Use*Select (usePoll false) and TestAPI_Use*Poll (usePoll true)
      describe(mode.name, () => {
        for (const c of cases) {
          const skip = fam.skip || (c.skip?.({ fam, mode }) ?? false);
          test(c.name, { timeout: 10_000, skip }, async () => {
            const addr = fam.addr();
            const map: SocketMap = new Map();
            try {
              await c.run({ fam, mode, map, addr });
            } finally {
              // CPython's tearDown: close_all(ignore_all=True), and unlink the Unix path
              closeAll(map, true);
              if (typeof addr === "string") unlinkQuietly(addr);
            }
          });
        }
      });
    }
  });
}
