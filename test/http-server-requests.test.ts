// examples/http-server.ts in-process, spoken to with raw bytes: keep-alive and its end, pipelining,
// HEAD, 304, the error answers (400/404/405/413/431/505), paths confined to the root, the idle
// timeout. In every poller mode (and, with ASYNCORE_POLLER=uv, on the other backend).
import { type TestContext, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import net from "node:net";
import { HttpChannel } from "../examples/http-server.js";
import { POLLERS } from "./helpers/pollers.js";
import { exchange, get, makeSite, startServer } from "./http-server-util.js";

const site = makeSite();

for (const mode of POLLERS) {
  /** A server for this test, stopped when it ends. */
  const serve = (t: TestContext): ReturnType<typeof startServer> => {
    const s = startServer(site.root, mode.usePoll);
    t.after(() => s.stop());
    return s;
  };

  test(`keep-alive: three requests on one connection, bodies byte-identical, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const r = await exchange(port, [get("/hello.txt"), get("/1k.bin"), get("/1m.bin")], { count: 3 });
    assert.equal(r.closed, false, "the connection stays open (HTTP/1.1's default)");
    assert.deepEqual(r.answers.map((a) => a.status), [200, 200, 200]);
    assert.ok(r.answers[0]!.body.equals(site.files["hello.txt"]!));
    assert.ok(r.answers[1]!.body.equals(site.files["1k.bin"]!));
    assert.ok(r.answers[2]!.body.equals(site.files["1m.bin"]!));
    assert.equal(r.answers[0]!.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(r.answers[1]!.headers.get("content-type"), "application/octet-stream");
    assert.equal(r.answers[0]!.headers.get("content-length"), String(site.files["hello.txt"]!.length));
    assert.match(r.answers[0]!.headers.get("last-modified")!, /GMT$/);
    assert.match(r.answers[0]!.headers.get("date")!, /GMT$/);
    assert.equal(r.answers[0]!.headers.has("connection"), false);
  });

  test(`pipelining: 50 requests in one write are answered in order, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const names = ["hello.txt", "1k.bin", "sub/index.html", "nope.txt", "with%20space.txt"];
    const targets = Array.from({ length: 50 }, (_, i) => names[i % names.length]!);
    const r = await exchange(port, targets.map((t) => get(`/${t}`)).join(""), { count: 50 });
    assert.equal(r.answers.length, 50);
    r.answers.forEach((a, i) => {
      const name = decodeURIComponent(targets[i]!);
      if (name === "nope.txt") assert.equal(a.status, 404);
      else {
        assert.equal(a.status, 200, `answer ${i} (${name})`);
        assert.ok(a.body.equals(site.files[name]!), `answer ${i} is ${name}`);
      }
    });
  });

  test(`pipelined requests split at every byte boundary are answered, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const text = get("/hello.txt") + get("/sub/");
    const r = await exchange(port, [...text].map((c) => c), { count: 2 });
    assert.deepEqual(r.answers.map((a) => a.status), [200, 200]);
    assert.equal(r.answers[1]!.body.toString(), "<h1>sub</h1>\n");
  });

  test(`Connection: close, HTTP/1.0 without and with keep-alive, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const closing = await exchange(port, get("/hello.txt", "Connection: close\r\n"));
    assert.equal(closing.closed, true);
    assert.equal(closing.answers.length, 1);
    assert.equal(closing.answers[0]!.headers.get("connection"), "close");
    const old = await exchange(port, "GET /hello.txt HTTP/1.0\r\n\r\n");
    assert.equal(old.closed, true, "HTTP/1.0 closes by default");
    assert.equal(old.answers[0]!.status, 200);
    const kept = await exchange(port, ["GET /hello.txt HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", "GET /1k.bin HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"], { count: 2 });
    assert.equal(kept.closed, false);
    assert.deepEqual(kept.answers.map((a) => a.status), [200, 200]);
    assert.equal(kept.answers[0]!.headers.get("connection"), "keep-alive");
  });

  test(`a client that half-closes after its requests gets every answer, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const r = await exchange(port, get("/1m.bin") + get("/hello.txt"), { endInput: true });
    assert.equal(r.closed, true);
    assert.deepEqual(r.answers.map((a) => a.status), [200, 200]);
    assert.ok(r.answers[0]!.body.equals(site.files["1m.bin"]!));
  });

  test(`HEAD: the GET's headers without a body; 304 for If-Modified-Since, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const mtime = fs.statSync(path.join(site.root, "1k.bin")).mtime;
    const lastModified = new Date(Math.floor(mtime.getTime() / 1000) * 1000).toUTCString();
    const earlier = new Date(mtime.getTime() - 3600_000).toUTCString();
    const r = await exchange(port, [
      get("/1k.bin", "", "HEAD"),
      get("/1k.bin", `If-Modified-Since: ${lastModified}\r\n`),
      get("/1k.bin", `If-Modified-Since: ${earlier}\r\n`),
      get("/1k.bin", "If-Modified-Since: not a date\r\n"),
      get("/hello.txt"),
    ].join(""), { count: 5, bodiless: (i, status) => i === 0 || status === 304 });
    assert.deepEqual(r.answers.map((a) => a.status), [200, 304, 200, 200, 200]);
    assert.equal(r.answers[0]!.headers.get("content-length"), "1024");
    assert.equal(r.answers[0]!.headers.get("last-modified"), lastModified);
    assert.equal(r.answers[1]!.headers.has("content-length"), false);
    assert.equal(r.answers[1]!.body.length, 0);
    assert.ok(r.answers[2]!.body.equals(site.files["1k.bin"]!));
    assert.ok(r.answers[4]!.body.equals(site.files["hello.txt"]!), "nothing was sent after HEAD's head or the 304");
  });

  test(`paths stay inside the root: .., %2e%2e, NUL, links out are refused; a link inside is served, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const cases: [string, number][] = [
      ["/../outside/secret.txt", 400],
      ["/sub/../../outside/secret.txt", 400],
      ["/%2e%2e/outside/secret.txt", 400],
      ["/%2E%2E%2foutside%2fsecret.txt", 400],
      ["/sub/%2e%2e/hello.txt", 400],
      ["/hello.txt%00.html", 400],
      ["/%zz", 400],
      ["/secret-link", 404],
      ["/outside-dir-link/secret.txt", 404],
      ["/fifo", 404],
      ["/missing", 404],
      ["/hello.txt/", 404],
      ["/inside-link.txt", 200],
      ["/./hello.txt", 200],
      ["//hello.txt", 200],
      ["http://any.host/hello.txt?q=1", 200],
    ];
    for (const [target, status] of cases) {
      const r = await exchange(port, get(target), { count: 1 });
      assert.equal(r.answers[0]?.status, status, `${target}: ${r.raw.toString("latin1").split("\r\n")[0]}`);
      assert.doesNotMatch(r.raw.toString("latin1"), /secret/);
    }
  });

  test(`directories: index.html, 301 to the path with its slash, 404 without an index, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const r = await exchange(port, get("/sub") + get("/sub/?x=1") + get("/empty-dir/") + get("/sub?a=b"), { count: 4 });
    assert.deepEqual(r.answers.map((a) => a.status), [301, 200, 404, 301]);
    assert.equal(r.answers[0]!.headers.get("location"), "/sub/");
    assert.equal(r.answers[1]!.headers.get("content-type"), "text/html; charset=utf-8");
    assert.equal(r.answers[3]!.headers.get("location"), "/sub/?a=b");
  });

  test(`405 for other methods (the connection stays unless a body came), 413 for a body, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const r = await exchange(port, get("/hello.txt", "", "DELETE") + get("/hello.txt"), { count: 2 });
    assert.deepEqual(r.answers.map((a) => a.status), [405, 200]);
    assert.equal(r.answers[0]!.headers.get("allow"), "GET, HEAD");
    const post = await exchange(port, `POST /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello${get("/hello.txt")}`);
    assert.equal(post.closed, true);
    assert.deepEqual(post.answers.map((a) => a.status), [405], "the bytes after the head are not taken for a request");
    const body = Buffer.alloc(300_000, 0x61);
    const big = await exchange(port, [`GET /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: ${body.length}\r\n\r\n`, body]);
    assert.equal(big.closed, true);
    assert.deepEqual(big.answers.map((a) => a.status), [413]);
    assert.equal(big.error, null, "the server read the body it refused before closing: no reset");
    const chunked = await exchange(port, "GET /hello.txt HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    assert.deepEqual(chunked.answers.map((a) => a.status), [413]);
  });

  test(`400 and 505 for malformed requests, and the connection closes, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const bad: [string, number][] = [
      ["GARBAGE\r\n\r\n", 400],
      ["GET /hello.txt\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\n\r\n", 400],
      ["GET hello.txt HTTP/1.1\r\nHost: t\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\nHost: t\r\nBad Name: x\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\nHost: t\r\n folded: x\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\nHost: t\r\nX: a\x00b\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400],
      ["GET /hello.txt HTTP/1.1\nHost: t\n\n", 400],
      ["GET /hello.txt HTTP/2.0\r\nHost: t\r\n\r\n", 505],
    ];
    for (const [request, status] of bad) {
      const r = await exchange(port, request);
      assert.equal(r.closed, true, JSON.stringify(request));
      assert.deepEqual(r.answers.map((a) => a.status), [status], JSON.stringify(request));
      assert.equal(r.answers[0]!.headers.get("connection"), "close");
    }
    const blank = await exchange(port, `\r\n\r\n${get("/hello.txt")}`, { count: 1 });
    assert.equal(blank.answers[0]?.status, 200, "empty lines before a request are ignored");
  });

  test(`431 when the request head passes the bound or has too many fields, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const { port } = serve(t);
    const long = await exchange(port, get("/hello.txt", `X-Long: ${"a".repeat(20_000)}\r\n`));
    assert.deepEqual(long.answers.map((a) => a.status), [431]);
    assert.equal(long.closed, true);
    const endless = await exchange(port, ["GET /hello.txt HTTP/1.1\r\n", "X: y\r\n".repeat(5000)]);
    assert.deepEqual(endless.answers.map((a) => a.status), [431], "a head that never ends is cut at the bound");
    const many = await exchange(port, get("/hello.txt", Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join("")));
    assert.deepEqual(many.answers.map((a) => a.status), [431]);
    const fits = await exchange(port, get("/hello.txt", `X-Long: ${"a".repeat(15_000)}\r\n`), { count: 1 });
    assert.equal(fits.answers[0]?.status, 200);
  });

  test(`the idle timeout closes a keep-alive connection, not one being served, ${mode.name}`, { timeout: 15_000 }, async (t) => {
    const s = serve(t);
    s.server.connectionIdleTimeout = 0.3;
    const started = Date.now();
    const r = await exchange(s.port, get("/hello.txt"));
    const elapsed = Date.now() - started;
    assert.equal(r.closed, true);
    assert.deepEqual(r.answers.map((a) => a.status), [200]);
    assert.ok(elapsed >= 250, `closed after ${elapsed} ms`);
  });

  test(`a file that shrinks while it is sent: the connection closes short of Content-Length, one error line, ${mode.name}`, { timeout: 30_000 }, async (t) => {
    const { port } = serve(t);
    const name = `shrinking-${mode.usePoll}.bin`;
    const file = path.join(site.root, name);
    fs.writeFileSync(file, Buffer.alloc(32 * 1024 * 1024, 0x5a));
    const logged: string[] = [];
    const saved = HttpChannel.prototype.logInfo;
    HttpChannel.prototype.logInfo = function logInfo(message: unknown, type = "info"): void {
      logged.push(`${type}: ${String(message)}`);
    };
    t.after(() => {
      HttpChannel.prototype.logInfo = saved;
      fs.rmSync(file, { force: true });
    });
    let received = 0;
    await new Promise<void>((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1", () => sock.write(get(`/${name}`)));
      sock.on("data", (d) => {
        // At the first bytes the server has read only what the socket buffers hold.
        if (received === 0) fs.truncateSync(file, 0);
        received += d.length;
      });
      sock.on("error", reject);
      sock.on("close", () => resolve());
    });
    assert.ok(received > 0 && received < 32 * 1024 * 1024, `${received} bytes arrived before the close`);
    assert.equal(logged.length, 1, logged.join("\n"));
    assert.match(logged[0]!, /^error: cannot send .*shrinking.* is shorter than when its answer began/);
  });
}
