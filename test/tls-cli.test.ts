// The `asyncore` command under TLS, against peers nobody here wrote: curl through `forward
// --tls-cert` to python3 -m http.server; `http-get https://` against Python's http.server wrapped
// in ssl; openssl s_client against `echo-server --tls-cert`; `forward --remote-tls` in front of
// openssl s_server and the Python ssl server. Certificates are made at test time (helpers/tls-certs).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import {
  PEERS, type Running, curlSkipReason, runCli, start, startPythonHttpServer, startServer, stopAll,
} from "./helpers/cli-process.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { tmpDir } from "./helpers/tmpdir.js";

function python3SkipReason(): string | null {
  const r = spawnSync("python3", ["-c", "import ssl, http.server"], { timeout: 10_000 });
  return r.error !== undefined || r.status !== 0 ? "python3 with ssl is not available: the Python peers are skipped" : null;
}

const opensslSkip = opensslSkipReason();
const pythonSkip = python3SkipReason() ?? opensslSkip;
const curlSkip = curlSkipReason() ?? opensslSkip;
const BIG = 20 * 1024 * 1024;
const sha256 = (data: Buffer): string => crypto.createHash("sha256").update(data).digest("hex");

let dir = "";
let big = Buffer.alloc(0);
const small = Buffer.from(Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256));

before(() => {
  if (opensslSkip !== null) return;
  dir = fs.mkdtempSync(path.join(tmpDir(), "www-"));
  big = crypto.randomBytes(BIG);
  fs.writeFileSync(path.join(dir, "big.bin"), big);
  fs.writeFileSync(path.join(dir, "small.bin"), small);
});
after(() => stopAll());

/** Python's http.server wrapped in ssl, serving `dir` with the localhost certificate. */
async function startPythonHttps(): Promise<{ proc: Running; port: number }> {
  const c = certs().localhost;
  const proc = start("python3", ["-u", path.join(PEERS, "tls_http_server.py"), dir, c.certFile, c.keyFile], { timeoutMs: 110_000 });
  const m = await proc.waitFor(/Serving HTTPS on \S+ port (\d+)/, "stdout");
  return { proc, port: Number(m[1]) };
}

/** Exit 1 with one line on stderr that says `what`. */
function assertOneLineFailure(r: { code: number | null; stderr: string }, what: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trimEnd().split("\n").length, 1, `one line expected: ${r.stderr}`);
  assert.match(r.stderr, what);
}

describe("asyncore http-get https:// against Python's http.server in ssl", { skip: pythonSkip ?? false }, () => {
  let server: { proc: Running; port: number } | null = null;
  before(async () => { server = await startPythonHttps(); });
  after(async () => { await server?.proc.stop(); });
  const url = (name: string, host = "localhost"): string => `https://${host}:${server!.port}/${name}`;

  test("--ca: 20 MiB byte for byte (by name and by address)", { timeout: 90_000 }, async () => {
    const c = certs().localhost;
    for (const host of ["localhost", "127.0.0.1"]) {
      const r = await runCli(["http-get", url("big.bin", host), "--ca", c.certFile], { timeoutMs: 80_000 });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdoutBytes.length, BIG);
      assert.equal(sha256(r.stdoutBytes), sha256(big));
    }
  });

  test("a self-signed server without --ca: exit 1, the verify error in one line, no output", { timeout: 30_000 }, async () => {
    const r = await runCli(["http-get", url("small.bin")], { timeoutMs: 25_000 });
    assertOneLineFailure(r, /^asyncore: http-get: cannot connect to localhost:\d+: TLS certificate verification failed: certificate verify failed: self-signed certificate$/m);
    assert.equal(r.stdoutBytes.length, 0);
  });

  test("a certificate for another name: exit 1, hostname mismatch", { timeout: 30_000 }, async () => {
    const r = await runCli(["http-get", url("small.bin"), "--ca", certs().other.certFile], { timeoutMs: 25_000 });
    assertOneLineFailure(r, /certificate verify failed/);
  });

  test("--insecure: works against the self-signed server, byte for byte", { timeout: 30_000 }, async () => {
    const r = await runCli(["http-get", url("small.bin"), "--insecure"], { timeoutMs: 25_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdoutBytes.equals(small));
  });

  test("https:// to a plain HTTP server: a failed handshake in one line, exit 1", { timeout: 30_000 }, async () => {
    const plain = await startPythonHttpServer(dir);
    try {
      const r = await runCli(["http-get", `https://127.0.0.1:${plain.port}/small.bin`, "--insecure"], { timeoutMs: 25_000 });
      assertOneLineFailure(r, /TLS handshake failed/);
    } finally {
      await plain.proc.stop();
    }
  });
});

describe("usage of the TLS options", { skip: opensslSkip ?? false }, () => {
  const cases: [string[], RegExp][] = [
    [["echo-server", "--tls-cert", "x.pem"], /--tls-cert and --tls-key go together/],
    [["forward", "-r", "127.0.0.1", "--tls-key", "x.pem"], /--tls-cert and --tls-key go together/],
    [["forward", "-r", "127.0.0.1", "--insecure"], /--insecure and --ca are for --remote-tls/],
    [["http-get", "https://localhost/", "--insecure", "--ca", "x.pem"], /exclude each other/],
  ];
  for (const [args, what] of cases) {
    test(`asyncore ${args.join(" ")}: exit 2`, { timeout: 15_000 }, async () => {
      const r = await runCli(args, { timeoutMs: 10_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.equal(r.stderr.trimEnd().split("\n").length, 1, r.stderr);
      assert.match(r.stderr, what);
    });
  }
  test("a certificate file that is not there: one line, exit 1", { timeout: 15_000 }, async () => {
    const r = await runCli(["echo-server", "--port", "0", "--tls-cert", "/nonexistent.pem", "--tls-key", "/nonexistent.pem"], { timeoutMs: 10_000 });
    assertOneLineFailure(r, /cannot load --tls-cert \/nonexistent\.pem/);
  });
});

describe("asyncore echo-server --tls-cert against openssl s_client", { skip: opensslSkip ?? false }, () => {
  test("lines come back, a plain-TCP client is one line and the server goes on, SIGINT 130", { timeout: 60_000 }, async () => {
    const c = certs().localhost;
    const { proc, port } = await startServer(["echo-server", "--port", "0", "--tls-cert", c.certFile, "--tls-key", c.keyFile], { timeoutMs: 55_000 });
    // A client speaking plain TCP: its connection fails alone.
    const plain = await runCli(["echo-client", "--port", String(port), "--message", "not TLS"], { timeoutMs: 20_000 });
    assert.equal(plain.code, 1, plain.stderr);
    await proc.waitFor(/TLS connection from 127\.0\.0\.1:\d+ failed: TLS handshake failed/, "stdout");
    for (let round = 0; round < 2; round++) {
      // -nocommands: s_client takes a read from stdin that starts with Q, R, k or K as a command
      // (Q quits at once), and these lines are random base64.
      const client = start("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", "localhost", "-CAfile", c.certFile,
        "-verify_return_error", "-quiet", "-no_ign_eof", "-nocommands"], { keepStdin: true, timeoutMs: 20_000 });
      const lines = Array.from({ length: 50 }, () => crypto.randomBytes(60).toString("base64"));
      client.child.stdin!.write(lines.map((l) => `${l}\n`).join(""));
      await client.waitForCount(/\n/, lines.length, "stdout");
      client.child.stdin!.end();
      const r = await client.exited;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, lines.map((l) => `${l}\n`).join(""));
    }
    assert.doesNotMatch(proc.stdout, /truncated/, "s_client ends with close_notify");
    const end = await proc.stop("SIGINT");
    assert.equal(end.code, 130, end.stderr);
  });
});

describe("asyncore forward --tls-cert in front of python3 -m http.server, with curl", { skip: curlSkip ?? pythonSkip ?? false }, () => {
  test("curl --cacert https:// through the forwarder: 20 MiB byte for byte; plain HTTP to it fails alone", { timeout: 120_000 }, async () => {
    const c = certs().localhost;
    const http = await startPythonHttpServer(dir);
    const fwd = await startServer(["forward", "-p", "0", "-r", "127.0.0.1", "-P", String(http.port), "--tls-cert", c.certFile, "--tls-key", c.keyFile], { timeoutMs: 110_000 });
    try {
      const got = start("curl", ["-sS", "-f", "--max-time", "90", "--cacert", c.certFile, `https://localhost:${fwd.port}/big.bin`], { timeoutMs: 100_000 });
      const r = await got.exited;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdoutBytes.length, BIG);
      assert.equal(sha256(r.stdoutBytes), sha256(big));
      const plain = await start("curl", ["-sS", "--max-time", "20", `http://127.0.0.1:${fwd.port}/small.bin`], { timeoutMs: 30_000 }).exited;
      assert.notEqual(plain.code, 0);
      await fwd.proc.waitFor(/forward: forwarded connection from 127\.0\.0\.1:\d+: TLS handshake failed/);
      const again = await start("curl", ["-sS", "-f", "--max-time", "20", "--cacert", c.certFile, `https://localhost:${fwd.port}/small.bin`], { timeoutMs: 30_000 }).exited;
      assert.equal(again.code, 0, again.stderr);
      assert.ok(again.stdoutBytes.equals(small));
    } finally {
      const end = await fwd.proc.stop("SIGINT");
      assert.equal(end.code, 130);
      await http.proc.stop();
    }
  });
});

describe("asyncore forward --tls-cert: a reset of the remote is passed on as a reset", { skip: opensslSkip ?? false }, () => {
  test("the TLS client sees ECONNRESET, never a clean end (no close_notify before the reset)", { timeout: 30_000 }, async () => {
    const c = certs().localhost;
    // The remote resets once the client has read all it sent: Node's sockets report a reset that
    // arrives behind unread bytes as a clean end, whatever the forwarder did.
    let resetRemote = (): void => {};
    const remote = net.createServer((sock) => {
      sock.on("error", () => {});
      sock.write(Buffer.alloc(100_000, 7));
      resetRemote = () => sock.resetAndDestroy();
    });
    await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
    const rPort = (remote.address() as net.AddressInfo).port;
    const fwd = await startServer(["forward", "-p", "0", "-r", "127.0.0.1", "-P", String(rPort), "--tls-cert", c.certFile, "--tls-key", c.keyFile], { timeoutMs: 25_000 });
    try {
      const outcome = await new Promise<{ bytes: number; how: string }>((resolve) => {
        let bytes = 0;
        const client = tls.connect({ host: "127.0.0.1", port: fwd.port, ca: c.cert, servername: "localhost" });
        client.on("data", (d: Buffer) => {
          bytes += d.length;
          if (bytes === 100_000) resetRemote();
        });
        client.on("end", () => resolve({ bytes, how: "end" }));
        client.on("error", (err: NodeJS.ErrnoException) => resolve({ bytes, how: err.code ?? err.message }));
      });
      assert.equal(outcome.how, "ECONNRESET", `got ${outcome.how} after ${outcome.bytes} bytes`);
      await fwd.proc.waitFor(/connection to 127\.0\.0\.1:\d+: connection reset by peer \(ECONNRESET\).*; reset passed on to the forwarded connection/);
    } finally {
      await fwd.proc.stop("SIGINT");
      remote.close();
    }
  });
});

describe("asyncore forward --remote-tls", { skip: opensslSkip ?? false }, () => {
  test("in front of openssl s_server -rev: lines come back reversed", { timeout: 60_000 }, async () => {
    const c = certs().localhost;
    const server = start("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", c.certFile, "-key", c.keyFile, "-naccept", "1", "-rev"], { timeoutMs: 50_000 });
    const sPort = Number((await server.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/, "stdout"))[1]);
    const fwd = await startServer(["forward", "-p", "0", "-r", "localhost", "-P", String(sPort), "--remote-tls", "--ca", c.certFile], { timeoutMs: 50_000 });
    try {
      const lines = Array.from({ length: 100 }, () => crypto.randomBytes(45).toString("hex"));
      const input = `${lines.join("\n")}\nCLOSE\n`;
      // The chat client sends stdin's lines and prints what comes back until the remote closes.
      const r = await runCli(["chat-client", "--port", String(fwd.port)], { input, timeoutMs: 40_000 });
      assert.equal(r.code, 0, r.stderr);
      for (const line of lines) assert.ok(r.stdout.includes([...line].reverse().join("")), "a reversed line is missing");
    } finally {
      await fwd.proc.stop("SIGINT");
      await server.stop();
    }
  });

  test("in front of Python's http.server in ssl: byte for byte; without --ca the verify error, one line", { timeout: 90_000, skip: pythonSkip ?? false }, async () => {
    const c = certs().localhost;
    const https = await startPythonHttps();
    const good = await startServer(["forward", "-p", "0", "-r", "localhost", "-P", String(https.port), "--remote-tls", "--ca", c.certFile], { timeoutMs: 80_000 });
    const bad = await startServer(["forward", "-p", "0", "-r", "localhost", "-P", String(https.port), "--remote-tls"], { timeoutMs: 80_000 });
    const insecure = await startServer(["forward", "-p", "0", "-r", "127.0.0.1", "-P", String(https.port), "--remote-tls", "--insecure"], { timeoutMs: 80_000 });
    try {
      for (const p of [good.port, insecure.port]) {
        const r = await runCli(["http-get", `http://127.0.0.1:${p}/big.bin`], { timeoutMs: 70_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(sha256(r.stdoutBytes), sha256(big));
      }
      const r = await runCli(["http-get", `http://127.0.0.1:${bad.port}/small.bin`], { timeoutMs: 20_000 });
      assert.equal(r.code, 1);
      await bad.proc.waitFor(/forward: connection to localhost:\d+: TLS certificate verification failed: certificate verify failed: self-signed certificate; closing the forwarded connection/);
    } finally {
      for (const f of [good, bad, insecure]) await f.proc.stop("SIGINT");
      await https.proc.stop();
    }
  });
});
