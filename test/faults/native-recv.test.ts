// The receive paths (src/receive.ts over the addon's recvInto, recvfromInto, readInto) under hostile
// input: MSG_TRUNC (the kernel reports more than it copied), sizes far beyond anything that can
// arrive, and buffers, offsets and lengths that would put a receive outside its memory. Every case
// runs in a child process: before the fixes these overflowed a heap block or died on V8's fatal
// allocation path.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { LIBRARY_URL, runNode } from "../helpers/child-process.js";

const SCALE = Number(process.env["TEST_TIME_SCALE"]) || 1;
const T = { timeout: 30_000 * SCALE };
const CHILD = 20_000 * SCALE;
const NATIVE_URL = new URL("./native.js", LIBRARY_URL).href;
const RECEIVE_URL = new URL("./receive.js", LIBRARY_URL).href;

function describeChild(r: { code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }): string {
  return `code=${r.code} signal=${r.signal} timedOut=${r.timedOut}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
}

/** Runs `body` (an async function body with `binding`, `lib`, `receive` (receive.js) in scope) in a child; returns its stdout lines as JSON values. */
async function child(body: string, shellPrefix?: string): Promise<unknown[]> {
  const script = `
    import { binding } from ${JSON.stringify(NATIVE_URL)};
    import * as lib from ${JSON.stringify(LIBRARY_URL)};
    import * as receive from ${JSON.stringify(RECEIVE_URL)};
    const out = (v) => process.stdout.write(JSON.stringify(v) + "\\n");
    ${body}
  `;
  const r = shellPrefix === undefined ? await runNode(script, { timeoutMs: CHILD }) : await runShell(shellPrefix, script);
  assert.ok(r.code === 0 && !r.timedOut, describeChild(r));
  return r.stdout.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as unknown);
}

async function runShell(prefix: string, script: string) {
  const { spawn } = await import("node:child_process");
  return await new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }>((resolve) => {
    const c = spawn("bash", ["-c", `${prefix}; exec "$0" --input-type=module -e "$1"`, process.execPath, script], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    c.stdout.setEncoding("utf8").on("data", (d: string) => { stdout += d; });
    c.stderr.setEncoding("utf8").on("data", (d: string) => { stderr += d; });
    const timer = setTimeout(() => { timedOut = true; c.kill("SIGKILL"); }, CHILD);
    c.on("close", (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr, timedOut }); });
  });
}

const MSG_TRUNC = 0x20;  // Linux

describe("MSG_TRUNC: a result is never longer than what the kernel copied", { skip: process.platform !== "linux" }, () => {
  test("recv(10, MSG_TRUNC) after a 100,000-byte datagram: 10 bytes, its first 10; fill() and later receives are safe", T, async () => {
    const [r] = await child(`
      const { AF_UNIX, SOCK_DGRAM } = binding.constants;
      const [a, b] = binding.socketpair(AF_UNIX, SOCK_DGRAM, 0);
      const results = [];
      for (const size of [100000, 200000, 4096, 40000]) {
        const sent = binding.send(a, Buffer.alloc(size, 0x41), 0);
        const got = receive.receiveExact(b, 10, ${MSG_TRUNC});
        if (typeof got === "number") { results.push({ size, sent, error: got }); continue; }
        const text = got.toString("latin1");
        got.fill(0);
        results.push({ size, sent, length: got.length, allA: /^A*$/.test(text) });
      }
      // recvfrom takes the same path; MSG_PEEK | MSG_TRUNC leaves the datagram queued.
      binding.send(a, Buffer.alloc(100000, 0x42), 0);
      const peek = receive.receiveFrom(b, 10, ${MSG_TRUNC} | binding.constants.MSG_PEEK);
      const from = receive.receiveFrom(b, 10, ${MSG_TRUNC});
      results.push({ peek: peek[0].length, from: from[0].length, fromText: from[0].toString("latin1") });
      binding.close(a); binding.close(b);
      out(results);
    `);
    assert.deepEqual(r, [
      { size: 100000, sent: 100000, length: 10, allA: true },
      { size: 200000, sent: 200000, length: 10, allA: true },
      { size: 4096, sent: 4096, length: 10, allA: true },
      { size: 40000, sent: 40000, length: 10, allA: true },
      { peek: 10, from: 10, fromText: "BBBBBBBBBB" },
    ]);
  });

  test("recv(n, MSG_TRUNC) on TCP (the kernel discards instead of copying) never hands out another connection's bytes", T, async () => {
    const [r] = await child(`
      const { AF_UNIX, SOCK_DGRAM } = binding.constants;
      const s = new lib.Socket(); s.bind(["127.0.0.1", 0]); s.listen(1);
      const c = new lib.Socket(); c.setblocking(true); c.connect(["127.0.0.1", s.getsockname()[1]]);
      s.setblocking(true); const [conn] = s.accept(); conn.setblocking(true);
      // Another connection's secret passes through the receive memory first (the same room:
      // a result this small is copied out and its room reused).
      const [x, y] = binding.socketpair(AF_UNIX, SOCK_DGRAM, 0);
      binding.send(x, Buffer.alloc(20000, 0x53), 0);
      const secret = receive.receiveExact(y, 20000, 0);
      c.sendall(Buffer.alloc(1000, 0x2e));
      const got = conn.recv(1000, ${MSG_TRUNC});
      out({ secretLength: secret.length, length: got.length, leaked: got.includes(0x53) });
      for (const s2 of [s, c, conn]) s2.close();
      binding.close(x); binding.close(y);
    `);
    assert.deepEqual(r, { secretLength: 20000, length: 1000, leaked: false });
  });

  test("the other receive paths (recvInto, read-ahead, FileWrapper.read) never report more than they filled", T, async () => {
    const [r] = await child(`
      const { AF_UNIX, SOCK_DGRAM, SOCK_STREAM } = binding.constants;
      const [a, b] = binding.socketpair(AF_UNIX, SOCK_DGRAM, 0);
      binding.send(a, Buffer.alloc(100000, 0x41), 0);
      const into = Buffer.alloc(16);
      const n = binding.recvInto(b, into, 3, 10);
      const [p, q] = lib.socketpair(AF_UNIX, SOCK_DGRAM);
      p.send(Buffer.alloc(100000, 0x43));
      const { kTryRecv } = await import(${JSON.stringify(new URL("./socket.js", LIBRARY_URL).href)});
      const ahead = q[kTryRecv](10, 65536);
      const [fa, fb] = binding.socketpair(AF_UNIX, SOCK_STREAM, 0);
      binding.write(fa, Buffer.alloc(50, 0x44));
      const w = new lib.FileWrapper(fb);
      const fr = w.read(10);
      out({ n, intoTail: [...into.subarray(13)], ahead: ahead.length, fr: fr.length });
      w.close(); p.close(); q.close();
      for (const fd of [a, b, fa, fb]) binding.close(fd);
    `);
    assert.deepEqual(r, { n: 10, intoTail: [0, 0, 0], ahead: 10, fr: 10 });
  });
});

// AddressSanitizer reserves terabytes of shadow memory: under `ulimit -v` it cannot start.
const UNDER_ASAN = /libasan/.test(process.env.LD_PRELOAD ?? "") ? "AddressSanitizer cannot run under ulimit -v" : false;

describe("sizes beyond what can arrive", () => {
  test("recv(2**31-1) under a 1.5 GB address-space limit returns what is queued (no up-front allocation, no abort)", { ...T, skip: UNDER_ASAN }, async () => {
    const [r] = await child(`
      const { AF_UNIX, SOCK_STREAM, SOCK_DGRAM } = binding.constants;
      const res = {};
      for (const [name, type] of [["stream", SOCK_STREAM], ["dgram", SOCK_DGRAM]]) {
        const [a, b] = binding.socketpair(AF_UNIX, type, 0);
        binding.send(a, Buffer.from("hello"), 0);
        const got = receive.receiveExact(b, 2 ** 31 - 1, 0);
        const from = (binding.send(a, Buffer.from("again"), 0), receive.receiveFrom(b, 2 ** 31 - 1, 0));
        const none = receive.receiveExact(b, 2 ** 31 - 1, 0);
        res[name] = [got.toString(), from[0].toString(), none];
        binding.close(a); binding.close(b);
      }
      // 3 MiB queued on a stream: one large read takes it all (large reads stay one call).
      const [a, b] = binding.socketpair(AF_UNIX, SOCK_STREAM, 0);
      binding.setsockopt(a, binding.constants.SOL_SOCKET, binding.constants.SO_SNDBUF, 8 << 20);
      const big = Buffer.alloc(3 << 20, 7);
      let sent = 0; while (sent < big.length) { const n = binding.send(a, big.subarray(sent), 0); if (n <= 0) break; sent += n; }
      let total = 0, calls = 0; for (;;) { const g = receive.receiveExact(b, 2 ** 31 - 1, 0); if (typeof g === "number") break; total += g.length; calls++; }
      res.big = total === sent && sent > 0 && calls <= 2;
      const s = new lib.Socket(lib.AF_UNIX, lib.SOCK_STREAM);
      let threw = null; try { s.recv(2 ** 31 - 1); } catch (e) { threw = e.code; }
      res.socketLayer = /^E[A-Z]+$/.test(String(threw));  // a system error (EINVAL or ENOTCONN: not connected), no abort
      s.close();
      out(res);
    `, "ulimit -v 1500000");
    assert.deepEqual(r, { stream: ["hello", "again", -11], dgram: ["hello", "again", -11], big: true, socketLayer: true });
  });

  test("Dispatcher.recv(2**31-1) (the read-ahead path) under a 1.5 GB address-space limit: what is queued, no RangeError", { ...T, skip: UNDER_ASAN }, async () => {
    const [r] = await child(`
      const [a, b] = lib.socketpair();
      const map = new Map();
      const got = [];
      class R extends lib.Dispatcher {
        writable() { return false; }
        handleRead() { got.push(this.recv(2 ** 31 - 1).toString()); }
        handleError(err) { got.push("error: " + err.message); this.close(); }
      }
      const d = new R(a, map);
      b.send(Buffer.from("hello"));
      for (let i = 0; i < 20 && got.length === 0; i++) await lib.loop({ map, timeout: 0.05, count: 1 });
      d.close(); b.close();
      out(got);
    `, "ulimit -v 1500000");
    assert.deepEqual(r, ["hello"]);
  });
});

describe("hostile buffers, offsets and lengths: TypeError or RangeError, never a write outside the room", () => {
  test("recvInto, recvfromInto and readInto check the buffer, offset + length against its end, and detachment", T, async () => {
    const [r] = await child(`
      const { AF_UNIX, SOCK_DGRAM } = binding.constants;
      const [a, b] = binding.socketpair(AF_UNIX, SOCK_DGRAM, 0);
      const fns = {
        recvInto: (buf, at, n) => binding.recvInto(b, buf, at, n, 0),
        recvfromInto: (buf, at, n) => binding.recvfromInto(b, buf, at, n, 0),
        readInto: (buf, at, n) => binding.readInto(b, buf, at, n),
      };
      const sneaky = { valueOf() { throw new Error("valueOf must not be called"); } };
      const detached = () => { const u = new Uint8Array(64); structuredClone(u.buffer, { transfer: [u.buffer] }); return u; };
      const shrunk = () => { const rab = new ArrayBuffer(64, { maxByteLength: 64 }); const u = new Uint8Array(rab); rab.resize(8); return u; };
      // A view into the middle of a larger buffer: its bounds are the view's, not the memory's.
      const backing = Buffer.alloc(96, 0xee);
      const view = backing.subarray(32, 48);
      const cases = [
        ["offset -1", () => Buffer.alloc(16), -1, 1, RangeError],
        ["offset 1.5", () => Buffer.alloc(16), 1.5, 1, RangeError],
        ["offset NaN", () => Buffer.alloc(16), NaN, 1, RangeError],
        ["offset Infinity", () => Buffer.alloc(16), Infinity, 1, RangeError],
        ["offset 2**53", () => Buffer.alloc(16), 2 ** 53, 0, RangeError],
        ["offset past end", () => Buffer.alloc(16), 17, 0, RangeError],
        ["offset at end, length 1", () => Buffer.alloc(16), 16, 1, RangeError],
        ["length past end", () => Buffer.alloc(16), 0, 17, RangeError],
        ["offset + length past end", () => Buffer.alloc(16), 8, 9, RangeError],
        ["offset + length wraps 32 bits", () => Buffer.alloc(16), 8, 2 ** 32 - 4, RangeError],
        ["offset + length wraps 64 bits", () => Buffer.alloc(16), 8, 2 ** 64 - 4, RangeError],
        ["length -1", () => Buffer.alloc(16), 0, -1, RangeError],
        ["length 2**31", () => Buffer.alloc(16), 0, 2 ** 31, RangeError],
        ["view: length past the view's end", () => view, 0, 17, RangeError],
        ["view: offset + length past the view's end", () => view, 15, 2, RangeError],
        ["offset as a string", () => Buffer.alloc(16), "0", 1, TypeError],
        ["length as a BigInt", () => Buffer.alloc(16), 0, 1n, TypeError],
        ["offset with valueOf", () => Buffer.alloc(16), sneaky, 1, TypeError],
        ["length missing", () => Buffer.alloc(16), 0, undefined, TypeError],
        ["detached buffer", detached, 0, 1, TypeError],
        ["detached buffer, empty room", detached, 0, 0, TypeError],
        ["shrunk resizable buffer", shrunk, 0, 16, RangeError],
        ["ArrayBuffer", () => new ArrayBuffer(16), 0, 1, TypeError],
        ["SharedArrayBuffer", () => new SharedArrayBuffer(16), 0, 1, TypeError],
        ["DataView", () => new DataView(new ArrayBuffer(16)), 0, 1, TypeError],
        ["Float64Array", () => new Float64Array(4), 0, 8, TypeError],
        ["Uint16Array", () => new Uint16Array(8), 0, 1, TypeError],
        ["plain array", () => [0, 0, 0, 0], 0, 1, TypeError],
        ["string", () => "xxxxxxxx", 0, 1, TypeError],
        ["null", () => null, 0, 1, TypeError],
      ];
      const wrong = [];
      for (const [name, fn] of Object.entries(fns)) {
        for (const [what, make, at, n, kind] of cases) {
          // Something waits to be received, so that a call that got through would write.
          binding.send(a, Buffer.alloc(32, 0x41), 0);
          try { fn(make(), at, n); wrong.push(name + " " + what + ": no throw"); }
          catch (err) { if (!(err instanceof kind)) wrong.push(name + " " + what + ": " + err); }
          // Drain what the call must not have taken (readInto included: on a socket it is recv()).
          while (binding.recvInto(b, Buffer.alloc(64), 0, 64) >= 0);
        }
      }
      // The room given is all that is written: the bytes around a view stay as they were.
      binding.send(a, Buffer.alloc(100, 0x42), 0);
      const n = binding.recvInto(b, view, 4, 12, 0);
      const around = [...backing.subarray(0, 36), ...backing.subarray(48)].every((x) => x === 0xee);
      binding.send(a, Buffer.alloc(100, 0x43), 0);
      const rf = binding.recvfromInto(b, view, 0, 3, 0);
      // Zero-length room: a datagram is consumed, nothing is written.
      binding.send(a, Buffer.alloc(5, 0x44), 0);
      const zero = binding.recvInto(b, new Uint8Array(0), 0, 0, 0);
      binding.close(a); binding.close(b);
      out({ wrong, n, inView: [...backing.subarray(36, 48)].every((x) => x === 0x42), around, rf: rf[0], zero });
    `);
    assert.deepEqual(r, { wrong: [], n: 12, inView: true, around: true, rf: 3, zero: 0 });
  });
});
