// Errors as informative as Node's: bind/connect/sendto/accept failures carry `address` and `port`
// and name them in the message, a host name where a number is required has its own code, and
// isSystemError() tells these (and Node's own) apart from other errors.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import os from "node:os";
import {
  AF_INET, AF_INET6, AF_UNIX, Dispatcher, SOCK_DGRAM, SOCK_STREAM, Socket, isSystemError, loop, type SystemError,
} from "../src/index.js";
import { ERR_NUMERIC_HOST_REQUIRED, systemError } from "../src/errors.js";
import { IPV6 } from "./helpers/families.js";
import { tmpPath } from "./helpers/tmpdir.js";

const T = { timeout: 10_000 };
const E = os.constants.errno;

/** A port nothing listens on: bound, then closed (the kernel does not hand it out again at once). */
function closedPort(host = "127.0.0.1"): number {
  const s = new Socket(host.includes(":") ? AF_INET6 : AF_INET);
  try {
    s.bind([host, 0]);
    return (s.getsockname() as readonly [string, number])[1];
  } finally {
    s.close();
  }
}

/** What handleError() gets from a Dispatcher that connects to `address` (over `family`) and is refused. */
async function refusedConnect(family: number, address: readonly [string, number]): Promise<unknown> {
  const map = new Map();
  let failure: unknown = null;
  class Client extends Dispatcher {
    override handleConnect(): void {}
    override handleError(err: unknown): void {
      failure = err;
      this.close();
    }
  }
  const c = new Client(null, map);
  c.createSocket(family);
  c.connect(address);
  await loop({ map, timeout: 1, count: 50 });
  return failure;
}

function thrown(fn: () => unknown): SystemError {
  try {
    fn();
  } catch (err) {
    assert.ok(isSystemError(err), `not a system error: ${String(err)}`);
    return err;
  }
  assert.fail("nothing was thrown");
}

describe("system errors name the address, as Node's do", () => {
  test("bind EADDRINUSE: `address`, `port`, and the message `bind EADDRINUSE 127.0.0.1:PORT`", T, () => {
    const a = new Socket();
    const b = new Socket();
    try {
      a.bind(["127.0.0.1", 0]);
      a.listen(1);
      const port = (a.getsockname() as readonly [string, number])[1];
      const err = thrown(() => b.bind(["127.0.0.1", port]));
      assert.equal(err.code, "EADDRINUSE");
      assert.equal(err.syscall, "bind");
      assert.equal(err.address, "127.0.0.1");
      assert.equal(err.port, port);
      assert.equal(err.message, `bind EADDRINUSE 127.0.0.1:${port}`);
    } finally {
      a.close();
      b.close();
    }
  });

  test("a refused Dispatcher.connect(): handleError() gets `connect ECONNREFUSED 127.0.0.1:PORT`, as Node's net says", T, async () => {
    const port = closedPort();
    const failure = await refusedConnect(AF_INET, ["127.0.0.1", port]);
    assert.ok(isSystemError(failure), `not a system error: ${String(failure)}`);
    assert.equal(failure.code, "ECONNREFUSED");
    assert.equal(failure.address, "127.0.0.1");
    assert.equal(failure.port, port);
    assert.equal(failure.message, `connect ECONNREFUSED 127.0.0.1:${port}`);
    // Node's own net gives the same message for the same failure.
    const nodeMessage = await new Promise<string>((resolve) => {
      net.connect(port, "127.0.0.1").on("error", (e) => resolve(e.message));
    });
    assert.equal(failure.message, nodeMessage);
  });

  test("a connect() to a name: the error names the address the name was resolved to", T, async () => {
    const port = closedPort();
    const failure = await refusedConnect(AF_INET, ["localhost", port]);
    assert.ok(isSystemError(failure));
    assert.equal(failure.address, "127.0.0.1");
    assert.equal(failure.port, port);
  });

  test("IPv6: `connect ECONNREFUSED ::1:PORT`", { ...T, skip: IPV6.skip }, async () => {
    const port = closedPort("::1");
    const failure = await refusedConnect(AF_INET6, ["::1", port]);
    assert.ok(isSystemError(failure));
    assert.equal(failure.message, `connect ECONNREFUSED ::1:${port}`);
    assert.equal(failure.address, "::1");
  });

  test("AF_UNIX: the path is the `address` (no port): connect ENOENT and sendto ENOENT", T, () => {
    const missing = tmpPath("missing");
    const s = new Socket(AF_UNIX, SOCK_STREAM);
    const d = new Socket(AF_UNIX, SOCK_DGRAM);
    try {
      const err = thrown(() => s.connect(missing));
      assert.equal(err.code, "ENOENT");
      assert.equal(err.address, missing);
      assert.equal("port" in err, false);
      assert.equal(err.message, `connect ENOENT ${missing}`);
      const err2 = thrown(() => d.sendto(Buffer.from("x"), missing));
      assert.equal(err2.syscall, "sendto");
      assert.equal(err2.address, missing);
      assert.equal(err2.message, `sendto ENOENT ${missing}`);
    } finally {
      s.close();
      d.close();
    }
  });

  test("sendto: an inet destination's address and port (EACCES: broadcast without SO_BROADCAST)", T, () => {
    const u = new Socket(AF_INET, SOCK_DGRAM);
    try {
      const err = thrown(() => u.sendto(Buffer.from("x"), ["255.255.255.255", 9]));
      assert.equal(err.code, "EACCES");
      assert.equal(err.address, "255.255.255.255");
      assert.equal(err.port, 9);
      assert.equal(err.message, "sendto EACCES 255.255.255.255:9");
    } finally {
      u.close();
    }
  });

  test("accept: a failure names the listener's own address; would-block (EAGAIN) stays as it was", T, () => {
    const s = new Socket();
    const l = new Socket();
    try {
      s.bind(["127.0.0.1", 0]);  // bound, not listening: accept() fails with EINVAL
      const port = (s.getsockname() as readonly [string, number])[1];
      const err = thrown(() => s.accept());
      assert.equal(err.code, "EINVAL");
      assert.equal(err.address, "127.0.0.1");
      assert.equal(err.port, port);
      assert.equal(err.message, `accept EINVAL 127.0.0.1:${port}`);
      l.bind(["127.0.0.1", 0]);
      l.listen(1);
      const again = thrown(() => l.accept());
      assert.equal(again.code, "EAGAIN");
      assert.equal(again.address, undefined);
    } finally {
      s.close();
      l.close();
    }
  });

  test("Dispatcher.accept(): an error it passes on names the listener (bound, not listening: EINVAL)", T, () => {
    const d = new Dispatcher(null, new Map());
    try {
      d.createSocket();
      d.bind(["127.0.0.1", 0]);
      const port = (d.socket!.getsockname() as readonly [string, number])[1];
      const err = thrown(() => d.accept());
      assert.equal(err.message, `accept EINVAL 127.0.0.1:${port}`);
      assert.equal(err.port, port);
    } finally {
      d.close();
    }
  });

  test("errors without an address keep the system's text: `recv EBADF: bad file descriptor`", T, () => {
    const err = systemError(E.EBADF, "recv");
    assert.match(err.message, /^recv EBADF: bad file descriptor$/i);
    assert.equal(err.address, undefined);
  });
});

describe("a host name where a numeric address is required", () => {
  test(`has its own code (${ERR_NUMERIC_HOST_REQUIRED}) and the name in \`hostname\``, T, () => {
    const s = new Socket();
    try {
      for (const call of [() => s.bind(["host.invalid", 0]), () => s.connect(["host.invalid", 80]), () => s.connectEx(["host.invalid", 80])]) {
        assert.throws(call, (err: Error & { code?: string; hostname?: string }) =>
          err.code === "ERR_NUMERIC_HOST_REQUIRED" && err.hostname === "host.invalid" && err.message.includes("\"host.invalid\"") &&
          !isSystemError(err));
      }
    } finally {
      s.close();
    }
  });
});

describe("isSystemError()", () => {
  test("true for ours and Node's own system errors; false for other errors and non-errors", T, async () => {
    assert.equal(isSystemError(systemError(E.ECONNRESET, "recv")), true);
    const nodeErr = await new Promise<unknown>((resolve) => {
      net.connect(closedPort(), "127.0.0.1").on("error", resolve);
    });
    assert.equal(isSystemError(nodeErr), true);
    assert.equal(isSystemError(new Error("plain")), false);
    assert.equal(isSystemError(new TypeError("x")), false);
    assert.equal(isSystemError({ code: "EPIPE", errno: -32, syscall: "send" }), false, "not an Error");
    assert.equal(isSystemError(null), false);
    assert.equal(isSystemError("ECONNRESET"), false);
    assert.equal(isSystemError(Object.assign(new Error("x"), { code: "ERR_X" })), false);
  });

  test("narrows `unknown` in handleError() without a cast", T, () => {
    const seen: string[] = [];
    class Channel extends Dispatcher {
      override handleError(err: unknown): void {
        if (isSystemError(err)) seen.push(`${err.syscall} ${err.code} ${err.errno}`);
      }
    }
    new Channel(null, new Map()).handleError(systemError(E.EPIPE, "send"));
    assert.deepEqual(seen, [`send EPIPE ${-E.EPIPE}`]);
  });
});
