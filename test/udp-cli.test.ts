// asyncore udp-echo and udp-echo-client as processes: a Python client (the socket module) and
// ours over IPv4 and IPv6, 0 B to the largest datagram, every byte checked; an oversized datagram
// reported, not echoed cut short; the signals' exit codes.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { AF_INET, SOCK_DGRAM, Socket } from "../src/index.js";
import path from "node:path";
import { EXAMPLES, runCli, start, startCli, stopAll } from "./helpers/cli-process.js";
import { IPV6 } from "./helpers/families.js";

after(stopAll);

const pythonSkip = ((): string | false => {
  const r = spawnSync("python3", ["-c", "import socket"], { encoding: "utf8", timeout: 10_000 });
  return r.error !== undefined || r.status !== 0 ? "python3 is not available: the Python UDP client tests are skipped" : false;
})();

// argv: HOST PORT then SIZE... (random datagrams, one at a time, each answer checked byte for byte),
// or "burst N" (N datagrams sent before any answer is read; each must come back once, whole).
// Prints "ok SIZE" per answer; exits 1 with a message on a wrong or missing answer.
const PYTHON_CLIENT = String.raw`
import os, socket, sys
host, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(family, socket.SOCK_DGRAM)
s.settimeout(5)
server = socket.getaddrinfo(host, port, family, socket.SOCK_DGRAM)[0][4]
def answer():
    data, frm = s.recvfrom(70000)
    if frm[:2] != server[:2]:
        sys.exit("answer from %r, not %r" % (frm, server))
    return data
if args[0] == "burst":
    sent = {os.urandom(100) for _ in range(int(args[1]))}
    for d in sent:
        s.sendto(d, server)
    for _ in range(len(sent)):
        d = answer()
        if d not in sent:
            sys.exit("an answer that was never sent (%d bytes)" % len(d))
        sent.discard(d)
    print("ok burst")
else:
    for size in map(int, args):
        d = os.urandom(size)
        s.sendto(d, server)
        got = answer()
        if got != d:
            sys.exit("sent %d bytes, got back %d different bytes" % (size, len(got)))
        print("ok %d" % size)
`;

/** `asyncore udp-echo ARGS` once bound, and its port ("listening on 127.0.0.1:P" or "[::1]:P"). */
async function startServer(args: readonly string[]) {
  const proc = startCli(args, { timeoutMs: 30_000 });
  const m = await proc.waitFor(/listening on (?:\[[^\]]+\]|[^:\s]+):(\d+)/);
  return { proc, port: Number(m[1]) };
}

function python(host: string, port: number, args: readonly (string | number)[]) {
  return start("python3", ["-c", PYTHON_CLIENT, host, String(port), ...args.map(String)], { timeoutMs: 20_000 }).exited;
}

describe("asyncore udp-echo with a Python client", { skip: pythonSkip }, () => {
  for (const [name, host, max, skip] of [["IPv4", "127.0.0.1", 65507, false], ["IPv6", "::1", 65527, IPV6.skip]] as const) {
    test(`${name}: 0 B to ${max} B come back byte for byte, a burst of 50 too; SIGTERM exits 0 with a summary`, { timeout: 30_000, skip }, async () => {
      const { proc, port } = await startServer(["udp-echo", "--host", host, "--port", "0"]);
      const sizes = [0, 1, 100, 1472, 1473, 9000, 65000, max, 0];
      const r = await python(host, port, sizes);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, sizes.map((n) => `ok ${n}\n`).join(""));
      const burst = await python(host, port, ["burst", 50]);
      assert.equal(burst.code, 0, burst.stderr);
      const exit = await proc.stop("SIGTERM");
      assert.equal(exit.code, 0);
      const total = sizes.reduce((a, b) => a + b, 0) + 50 * 100;
      assert.match(exit.stderr, new RegExp(`^udp-echo listening on .*\\nudp-echo: ${sizes.length + 50} datagrams \\(${total} bytes\\) echoed\\n$`));
    });
  }

  test("--max-datagram: a longer datagram is dropped with one line on stderr, never echoed cut short", { timeout: 30_000 }, async () => {
    const { proc, port } = await startServer(["udp-echo", "--port", "0", "--max-datagram", "1000"]);
    // The 1001-byte datagram goes first: had it been echoed (whole or cut), its answer would come first.
    const over = start("python3", ["-c", `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(5)
s.sendto(b"x" * 1001, ("127.0.0.1", ${port}))
s.sendto(b"y" * 1000, ("127.0.0.1", ${port}))
d = s.recv(70000)
print(len(d), d == b"y" * 1000)
`], { timeoutMs: 20_000 });
    const o = await over.exited;
    assert.equal(o.stdout, "1000 True\n", o.stderr);
    await proc.waitFor(/datagram from 127\.0\.0\.1:\d+ longer than 1000 bytes discarded/);
    const exit = await proc.stop("SIGINT");
    assert.equal(exit.code, 130);
    assert.match(exit.stderr, /asyncore: udp-echo: error: datagram from 127\.0\.0\.1:\d+ longer than 1000 bytes discarded \(see maxDatagram\)\n/);
    assert.match(exit.stderr, /udp-echo: 1 datagram \(1000 bytes\) echoed\n$/);
  });
});

describe("asyncore udp-echo-client", () => {
  for (const [name, host, max, skip] of [["IPv4", "127.0.0.1", 65507, false], ["IPv6", "::1", 65527, IPV6.skip]] as const) {
    test(`${name}: --sizes 0 to ${max} and MESSAGEs come back; exit 0`, { timeout: 30_000, skip }, async () => {
      const { proc, port } = await startServer(["udp-echo", "--host", host, "--port", "0"]);
      const r = await runCli(["udp-echo-client", "--host", host, "--port", String(port), "--sizes", `0,1,36,100,${max}`], { timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, [
        "recv 0: ",
        "recv 1: b",
        "recv 36: cdefghijklmnopqrstuvwxyz0123456789ab",
        `recv 100: ${"defghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq"}...`.replace(/^(recv 100: .{40}).*$/, "$1..."),
        `recv ${max}: ${"efghijklmnopqrstuvwxyz0123456789abcdefghijklmnopq".slice(0, 40)}...`,
      ].map((l) => `${l}\n`).join(""));
      const m = await runCli(["udp-echo-client", "--host", host, "--port", String(port), "hello", "", "world"], { timeoutMs: 20_000 });
      assert.equal(m.code, 0, m.stderr);
      assert.equal(m.stdout, "recv 5: hello\nrecv 0: \nrecv 5: world\n");
      assert.equal((await proc.stop("SIGTERM")).code, 0);
    });
  }

  test("to a port where nothing listens: exit 1, connection refused", { timeout: 20_000 }, async () => {
    const probe = new Socket(AF_INET, SOCK_DGRAM);
    probe.bind(["127.0.0.1", 0]);
    const port = probe.getsockname()[1] as number;
    probe.close();
    const r = await runCli(["udp-echo-client", "--port", String(port)], { timeoutMs: 15_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, `asyncore: udp-echo-client: 127.0.0.1:${port}: connection refused (ECONNREFUSED)\n`);
  });

  test("bad usage: exit 2 with one line", { timeout: 20_000 }, async () => {
    for (const [args, what] of [
      [["udp-echo-client", "--sizes", "70000"], /invalid value '70000' for --sizes/],
      [["udp-echo-client", "--sizes", "1", "hello"], /give MESSAGEs or --sizes, not both/],
      [["udp-echo", "--max-datagram", "x"], /invalid value 'x' for --max-datagram/],
      [["udp-echo", "--port", "70000"], /invalid port '70000'/],
    ] as const) {
      const r = await runCli(args, { timeoutMs: 10_000 });
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, what);
      assert.equal(r.stderr.split("\n").length, 2);
    }
  });
});

test("examples/udp-echo.js and udp-echo-client.js run as programs", { timeout: 20_000 }, async () => {
  const server = start(process.execPath, [path.join(EXAMPLES, "udp-echo.js"), "127.0.0.1", "0"], { timeoutMs: 15_000 });
  const m = await server.waitFor(/udp echo server listening on 127\.0\.0\.1:(\d+)/);
  const client = await start(process.execPath, [path.join(EXAMPLES, "udp-echo-client.js"), "127.0.0.1", m[1]!, "one", "", "three"], { timeoutMs: 15_000 }).exited;
  assert.equal(client.code, 0, client.stderr);
  assert.equal(client.stdout, "recv 3: one\nrecv 0: \nrecv 5: three\n");
  await server.stop("SIGTERM");
});
