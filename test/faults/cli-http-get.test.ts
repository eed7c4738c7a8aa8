// `asyncore http-get` against hostile servers of Node's own (node:net, loopback, port 0): a
// server that never answers, one that resets mid-body, one that sends more than its
// Content-Length, a chunked body, and SIGINT while the body is still coming.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { runCli, startCli, stopAll } from "../helpers/cli-process.js";

after(stopAll);

/** A raw TCP server on 127.0.0.1:0 running `onConnection` for every client. */
async function rawServer(onConnection: (sock: net.Socket) => void): Promise<{ server: net.Server; url: string }> {
  const server = net.createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/file` };
}

/** Resolves once the request's blank line has arrived. */
function requestRead(sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    let head = "";
    sock.on("data", (chunk: Buffer) => {
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) resolve();
    });
  });
}

test("--timeout bounds the whole request: a server that accepts and never answers", { timeout: 20_000 }, async () => {
  const held: net.Socket[] = [];
  const { server, url } = await rawServer((sock) => { held.push(sock); sock.on("error", () => {}); });
  try {
    const started = Date.now();
    const r = await runCli(["http-get", "--timeout", "1", url], { timeoutMs: 10_000 });
    const elapsed = Date.now() - started;
    assert.equal(r.timedOut, false, "http-get hung past its --timeout");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^asyncore: http-get: no complete response from 127\.0\.0\.1:\d+ within 1 s \(0 bytes of the response read\)\n$/);
    assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

test("--timeout bounds the whole request: a body that stalls half-way", { timeout: 20_000 }, async () => {
  const held: net.Socket[] = [];
  const { server, url } = await rawServer((sock) => {
    held.push(sock);
    sock.on("error", () => {});
    void requestRead(sock).then(() => sock.write("HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(400)));
  });
  try {
    const r = await runCli(["http-get", "--timeout", "1", url], { timeoutMs: 10_000 });
    assert.equal(r.timedOut, false, "http-get hung past its --timeout");
    assert.equal(r.code, 1);
    assert.equal(r.stdoutBytes.length, 400);
    assert.match(r.stderr, /within 1 s \(400 of 1000 body bytes read\)\n$/);
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});

test("a reset after 300,000 body bytes: exit 1, 'connection reset after N bytes'", { timeout: 20_000 }, async () => {
  const body = crypto.randomBytes(300_000);
  const { server, url } = await rawServer((sock) => {
    sock.on("error", () => {});
    void requestRead(sock).then(() => {
      sock.write("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
      sock.write(body, () => setTimeout(() => sock.resetAndDestroy(), 100));
    });
  });
  try {
    const r = await runCli(["http-get", url], { timeoutMs: 10_000 });
    assert.equal(r.code, 1, `exit ${r.code}; stderr: ${r.stderr}`);
    assert.equal(r.stdoutBytes.length, 300_000);
    assert.match(r.stderr, /^asyncore: http-get: error reading from 127\.0\.0\.1:\d+: connection reset after 300000 body bytes \(ECONNRESET\)\n$/);
  } finally {
    server.close();
  }
});

test("never more than Content-Length bytes on stdout", { timeout: 20_000 }, async () => {
  const { server, url } = await rawServer((sock) => {
    sock.on("error", () => {});
    void requestRead(sock).then(() => sock.end("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n0123456789TRAILING-GARBAGE"));
  });
  try {
    const r = await runCli(["http-get", url], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "0123456789");
  } finally {
    server.close();
  }
});

test("a chunked body is written de-chunked (and trailers are not written)", { timeout: 20_000 }, async () => {
  const parts = [Buffer.from("Hello, "), crypto.randomBytes(70_000), Buffer.from("world\n")];
  const { server, url } = await rawServer((sock) => {
    sock.on("error", () => {});
    void requestRead(sock).then(async () => {
      sock.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
      for (const part of parts) {
        // The size line, the data and the CRLF in pieces, so that framing is split across reads.
        const size = `${part.length.toString(16)};ext=1\r\n`;
        sock.write(size.slice(0, 2));
        await new Promise((resolve) => setTimeout(resolve, 5));
        sock.write(size.slice(2));
        sock.write(part);
        await new Promise((resolve) => setTimeout(resolve, 5));
        sock.write("\r\n");
      }
      sock.end("0\r\nX-Trailer: yes\r\n\r\n");
    });
  });
  try {
    const r = await runCli(["http-get", url], { timeoutMs: 10_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdoutBytes.equals(Buffer.concat(parts)), `stdout: ${r.stdoutBytes.length} bytes`);
    const inc = await runCli(["http-get", "--include", url], { timeoutMs: 10_000 });
    assert.equal(inc.code, 0, inc.stderr);
    assert.ok(inc.stdoutBytes.toString("latin1").startsWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHello, "));
  } finally {
    server.close();
  }
});

test("a chunked body cut short: exit 1", { timeout: 20_000 }, async () => {
  const { server, url } = await rawServer((sock) => {
    sock.on("error", () => {});
    void requestRead(sock).then(() => sock.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789"));
  });
  try {
    const r = await runCli(["http-get", url], { timeoutMs: 10_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "0123456789");
    assert.match(r.stderr, /the chunked response body was cut short/);
  } finally {
    server.close();
  }
});

test("SIGINT while the body is coming: exit 130", { timeout: 20_000 }, async () => {
  const held: net.Socket[] = [];
  const { server, url } = await rawServer((sock) => {
    held.push(sock);
    sock.on("error", () => {});
    void requestRead(sock).then(() => sock.write("HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n" + "x".repeat(100)));
  });
  try {
    const proc = startCli(["http-get", url], { timeoutMs: 10_000 });
    await new Promise<void>((resolve) => {
      const check = (): void => { if (proc.stdoutBytes.length >= 100) resolve(); else setTimeout(check, 20); };
      check();
    });
    const r = await proc.stop("SIGINT");
    assert.equal(r.code, 130, `exit ${r.code}; stderr: ${r.stderr}`);
    assert.equal(r.stdoutBytes.length, 100);
  } finally {
    for (const s of held) s.destroy();
    server.close();
  }
});
