// `asyncore http-get` against hostile servers of Node's own (node:net, loopback, port 0): a
// server that never answers, one that stalls, one that resets mid-body, one that sends more than
// its Content-Length, a chunked body, and SIGINT while the body is still coming.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import { type Exit, runCli, startCli, stopAll } from "../helpers/cli-process.js";
import { within } from "../helpers/within.js";

after(stopAll);

type Answer = (sock: net.Socket) => void | Promise<void>;

/**
 * A raw TCP server on 127.0.0.1:0 that calls `answer` once a request's blank line has arrived;
 * close() also ends the connections it still holds.
 */
async function rawServer(answer: Answer): Promise<{ url: string; close: () => void }> {
  const held = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    held.add(sock);
    sock.on("error", () => {});
    sock.on("close", () => held.delete(sock));
    let head = "";
    sock.on("data", (chunk: Buffer) => {
      const before = head.includes("\r\n\r\n");
      head += chunk.toString("latin1");
      if (!before && head.includes("\r\n\r\n")) void answer(sock);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/file`,
    close: () => {
      for (const sock of held) sock.destroy();
      server.close();
    },
  };
}

/** Runs `asyncore http-get [options] URL` against a rawServer(answer). */
async function httpGet(answer: Answer, options: string[] = []): Promise<Exit> {
  const { url, close } = await rawServer(answer);
  try {
    return await runCli(["http-get", ...options, url], { timeoutMs: 10_000 });
  } finally {
    close();
  }
}

test("--timeout bounds the whole request: a server that accepts and never answers", { timeout: 20_000 }, async () => {
  const started = Date.now();
  const r = await httpGet(() => {}, ["--timeout", "1"]);
  const elapsed = Date.now() - started;
  assert.equal(r.timedOut, false, "http-get hung past its --timeout");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^asyncore: http-get: no complete response from 127\.0\.0\.1:\d+ within 1 s \(0 bytes of the response read\)\n$/);
  assert.ok(elapsed < 5_000, `took ${elapsed} ms`);
});

test("--timeout bounds the whole request: a body that stalls half-way", { timeout: 20_000 }, async () => {
  const r = await httpGet((sock) => { sock.write(`HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n${"x".repeat(400)}`); }, ["--timeout", "1"]);
  assert.equal(r.timedOut, false, "http-get hung past its --timeout");
  assert.equal(r.code, 1);
  assert.equal(r.stdoutBytes.length, 400);
  assert.match(r.stderr, /within 1 s \(400 of 1000 bytes of the body read\)\n$/);
});

test("a reset after 300,000 bytes of the body: exit 1, 'connection reset after N bytes'", { timeout: 20_000 }, async () => {
  const body = crypto.randomBytes(300_000);
  let answered!: (sock: net.Socket) => void;
  const answer = new Promise<net.Socket>((resolve) => { answered = resolve; });
  const { url, close } = await rawServer((sock) => {
    sock.write("HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n");
    sock.write(body);
    answered(sock);
  });
  try {
    const proc = startCli(["http-get", url], { timeoutMs: 10_000 });
    // The reset goes once http-get has written the whole body out: an RST sent earlier would drop
    // what the server's kernel still held for it, and the count would be short.
    let written = 0;
    const allWritten = new Promise<void>((resolve) => proc.child.stdout!.on("data", (chunk: Buffer) => {
      written += chunk.length;
      if (written >= body.length) resolve();
    }));
    const sock = await within(answer, 5_000, () => "the request");
    await within(allWritten, 5_000, () => `${written} bytes of the body on stdout`);
    sock.resetAndDestroy();
    const r = await proc.exited;
    assert.equal(r.code, 1, `exit ${r.code}; stderr: ${r.stderr}`);
    assert.equal(r.stdoutBytes.length, 300_000);
    assert.match(r.stderr, /^asyncore: http-get: error reading from 127\.0\.0\.1:\d+: connection reset after 300000 bytes of the body \(ECONNRESET\)\n$/);
  } finally {
    close();
  }
});

test("never more than Content-Length bytes on stdout", { timeout: 20_000 }, async () => {
  const r = await httpGet((sock) => { sock.end("HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n0123456789TRAILING-GARBAGE"); });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "0123456789");
});

test("a chunked body is written de-chunked (and trailers are not written)", { timeout: 20_000 }, async () => {
  const parts = [Buffer.from("Hello, "), crypto.randomBytes(70_000), Buffer.from("world\n")];
  const chunked: Answer = async (sock) => {
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
  };
  const r = await httpGet(chunked);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdoutBytes.equals(Buffer.concat(parts)), `stdout: ${r.stdoutBytes.length} bytes`);
  const inc = await httpGet(chunked, ["--include"]);
  assert.equal(inc.code, 0, inc.stderr);
  assert.ok(inc.stdoutBytes.toString("latin1").startsWith("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nHello, "));
});

test("a chunked body cut short: exit 1", { timeout: 20_000 }, async () => {
  const r = await httpGet((sock) => { sock.end("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n0123456789"); });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "0123456789");
  assert.match(r.stderr, /the chunked response body was cut short/);
});

test("SIGINT while the body is coming: exit 130", { timeout: 20_000 }, async () => {
  const { url, close } = await rawServer((sock) => { sock.write(`HTTP/1.0 200 OK\r\nContent-Length: 1000\r\n\r\n${"x".repeat(100)}`); });
  try {
    const proc = startCli(["http-get", url], { timeoutMs: 10_000 });
    await new Promise<void>((resolve) => {
      const check = (): void => { if (proc.stdoutBytes.length >= 100) resolve(); else setTimeout(check, 20); };
      check();
    });
    const r = await proc.stop("SIGINT");
    assert.equal(r.code, 130, `exit ${r.code}; stderr: ${r.stderr}`);
    assert.equal(r.stdoutBytes.length, 100);
    assert.match(r.stderr, /^asyncore: http-get: interrupted \(100 of 1000 bytes of the body read\)\n$/);
  } finally {
    close();
  }
});
