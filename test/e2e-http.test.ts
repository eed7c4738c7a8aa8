// End to end over loopback: `asyncore http-get` against python3 -m http.server, and
// `asyncore forward` in front of that server, fetched with curl and with http-get.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Running, curlSkipReason, pythonSkipReason, runCli, start, startPythonHttpServer, startServer, stopAll } from "./helpers/cli-process.js";

const pythonSkip = pythonSkipReason();
const curlSkip = curlSkipReason();
const BIG = 20 * 1024 * 1024;

const files: Record<string, Buffer> = {
  "hello.txt": Buffer.from("Hello, asyncore!\n"),
  "empty.txt": Buffer.alloc(0),
  // Every byte value, CR and LF and NUL included: the body must pass untouched.
  "bytes.bin": Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 31) % 256)),
  "random-1m.bin": crypto.randomBytes(1024 * 1024 + 7),
  "big.bin": crypto.randomBytes(BIG),
};

let dir = "";
let server: { proc: Running; port: number } | null = null;

describe("http-get and forward against python3 -m http.server", { skip: pythonSkip ?? false }, () => {
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "asyncore-e2e-http-"));
    for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
    server = await startPythonHttpServer(dir);
  });
  after(async () => {
    await stopAll();
    if (dir !== "") fs.rmSync(dir, { recursive: true, force: true });
  });

  const url = (name: string, port = server!.port): string => `http://127.0.0.1:${port}/${name}`;

  for (const name of Object.keys(files)) {
    test(`http-get ${name}: the body byte for byte, exit 0`, { timeout: 60_000 }, async () => {
      const r = await runCli(["http-get", url(name)], { timeoutMs: 50_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, "");
      assert.equal(r.stdoutBytes.length, files[name]!.length);
      assert.ok(r.stdoutBytes.equals(files[name]!), "identical bytes");
    });
  }

  test("http-get --include: the status line and headers, then the body", { timeout: 30_000 }, async () => {
    for (const flag of ["--include", "-i"]) {
      const r = await runCli(["http-get", flag, url("hello.txt")], { timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      const text = r.stdout;
      const end = text.indexOf("\r\n\r\n");
      assert.ok(end > 0, text);
      assert.match(text, /^HTTP\/1\.0 200 OK\r\n/);
      assert.match(text.slice(0, end), /\r\nContent-Length: 17(\r\n|$)/i);
      assert.equal(text.slice(end + 4), "Hello, asyncore!\n");
    }
  });

  test("http-get of a missing file: exit 1, the status on stderr, nothing on stdout", { timeout: 30_000 }, async () => {
    const r = await runCli(["http-get", url("no-such-file.txt")], { timeoutMs: 20_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, "asyncore: http-get: HTTP 404 File not found\n");
  });

  test("http-get of a directory without its slash: exit 1, the redirect on stderr", { timeout: 30_000 }, async () => {
    fs.mkdirSync(path.join(dir, "sub"), { recursive: true });
    const r = await runCli(["http-get", url("sub")], { timeoutMs: 20_000 });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^asyncore: http-get: HTTP 301 Moved Permanently \(Location: \/sub\/\)\n$/);
  });

  describe("forward in front of the server", () => {
    let forwarder: Awaited<ReturnType<typeof startServer>> | null = null;
    before(async () => {
      forwarder = await startServer(["forward", "-l", "127.0.0.1", "-p", "0", "-r", "127.0.0.1", "-P", String(server!.port)], { timeoutMs: 170_000 });
    });
    after(async () => {
      if (forwarder !== null) {
        const r = await forwarder.proc.stop("SIGTERM");
        assert.equal(r.code, 0, `the forwarder exits 0 on SIGTERM (stderr: ${r.stderr})`);
        // http-get closes on the 404's status line without reading the page (it reports the
        // status): when the page has arrived by then, its kernel resets the connection, and the
        // forwarder rightly passes that on. Only that reset may be reported.
        const lines = r.stderr.split("\n").filter((l) => l.includes("asyncore: forward:"));
        const earlyClose = /connection reset by peer \(ECONNRESET\) after \d+ bytes received, (\d+) sent; reset passed on/;
        const other = lines.filter((l) => Number(earlyClose.exec(l)?.[1] ?? Infinity) > 4096);
        assert.deepEqual(other, [], "no connection failed");
        assert.ok(lines.length <= 1, `at most the 404's early close: ${lines.join("; ")}`);
      }
    });

    /** curl -s -f URL, its output as bytes. */
    async function curl(target: string): Promise<Buffer> {
      const proc = start("curl", ["-s", "-S", "-f", "--max-time", "60", target], { timeoutMs: 90_000 });
      const r = await proc.exited;
      assert.equal(r.code, 0, `curl ${target}: ${r.stderr}`);
      return r.stdoutBytes;
    }

    test("curl through the forwarder: 20 MiB byte for byte", { timeout: 90_000, skip: curlSkip ?? false }, async () => {
      const body = await curl(url("big.bin", forwarder!.port));
      assert.equal(body.length, BIG);
      assert.ok(body.equals(files["big.bin"]!), "identical bytes");
    });

    test("50 parallel curl requests through the forwarder, all byte for byte", { timeout: 120_000, skip: curlSkip ?? false }, async () => {
      const names = Object.keys(files).filter((n) => n !== "big.bin");
      const wanted = Array.from({ length: 50 }, (_, i) => names[i % names.length]!);
      // Two of them are the 20 MiB file: a slow and a fast side at once.
      wanted[10] = "big.bin";
      wanted[40] = "big.bin";
      const bodies = await Promise.all(wanted.map((name) => curl(url(name, forwarder!.port))));
      bodies.forEach((body, i) => assert.ok(body.equals(files[wanted[i]!]!), `request ${i} (${wanted[i]}): identical bytes`));
    });

    test("http-get through the forwarder: 20 MiB byte for byte, and a 404", { timeout: 90_000 }, async () => {
      const r = await runCli(["http-get", url("big.bin", forwarder!.port)], { timeoutMs: 80_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stdoutBytes.equals(files["big.bin"]!), "identical bytes");
      const missing = await runCli(["http-get", url("missing", forwarder!.port)], { timeoutMs: 20_000 });
      assert.equal(missing.code, 1);
      assert.equal(missing.stderr, "asyncore: http-get: HTTP 404 File not found\n");
    });
  });
});
