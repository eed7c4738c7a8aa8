// examples/http-client.ts in-process against servers of Node's own (node:http, node:net), in
// every poller mode: status, headers and body, error statuses, refused and cut connections.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import net from "node:net";
import { loop } from "../src/index.js";
import { HTTPClient, parseHttpUrl } from "../examples/http-client.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";
import { listen } from "./helpers/listen.js";


const body = crypto.randomBytes(300_000);
let server: http.Server;
let port = 0;
const seen: { url: string | undefined; version: string; host: string | undefined }[] = [];


async function get(url: string, usePoll: boolean): Promise<HTTPClient> {
  const map = privateMap();
  const client = new HTTPClient(url, map);
  await loop({ map, timeout: 0.2, usePoll });
  assert.equal(map.size, 0);
  return client;
}

before(async () => {
  server = http.createServer((req, res) => {
    seen.push({ url: req.url, version: req.httpVersion, host: req.headers.host });
    if (req.url === "/data.bin") res.writeHead(200, { "Content-Type": "application/octet-stream", "X-Test": "yes" }).end(body);
    else if (req.url?.startsWith("/echo-path")) res.writeHead(200).end(req.url);
    else res.writeHead(404, "Nothing Here").end("no");
  });
  port = await listen(server);
});
after(() => server.close());

for (const mode of POLLERS) {
  describe(`HTTPClient, ${mode.name}`, () => {
    test("GET: status, headers and the body byte for byte; an HTTP/1.0 request with a Host header", { timeout: 15_000 }, async () => {
      const c = await get(`http://127.0.0.1:${port}/data.bin`, mode.usePoll);
      assert.equal(c.error, null);
      assert.ok(c.complete && c.ok);
      assert.equal(c.status, 200);
      assert.equal(c.reason, "OK");
      assert.equal(c.header("x-test"), "yes");
      assert.equal(c.header("Content-Type"), "application/octet-stream");
      assert.ok(c.rawHead!.toString("latin1").startsWith(`HTTP/${c.httpVersion} 200 OK\r\n`));
      assert.ok(c.body.equals(body));
      const request = seen.at(-1)!;
      assert.deepEqual(request, { url: "/data.bin", version: "1.0", host: `127.0.0.1:${port}` });
    });

    test("the path and query string are sent as given", { timeout: 15_000 }, async () => {
      const c = await get(`http://localhost:${port}/echo-path/a%20b?x=1&y=2`, mode.usePoll);
      assert.equal(c.body.toString(), "/echo-path/a%20b?x=1&y=2");
      assert.equal(seen.at(-1)!.host, `localhost:${port}`);
    });

    test("a 404: the status and reason, ok is false, no error", { timeout: 15_000 }, async () => {
      const c = await get(`http://127.0.0.1:${port}/missing`, mode.usePoll);
      assert.equal(c.error, null);
      assert.equal(c.status, 404);
      assert.equal(c.reason, "Nothing Here");
      assert.equal(c.ok, false);
    });

    test("a refused connection: error ECONNREFUSED, no status", { timeout: 15_000 }, async () => {
      const probe = net.createServer();
      const closedPort = await listen(probe);
      await new Promise((resolve) => probe.close(resolve));
      const c = await get(`http://127.0.0.1:${closedPort}/`, mode.usePoll);
      assert.equal((c.error as { code?: string }).code, "ECONNREFUSED");
      assert.equal(c.established, false);
      assert.equal(c.status, 0);
    });

    test("a body shorter than its Content-Length is an error", { timeout: 15_000 }, async () => {
      const cut = net.createServer((sock) => sock.once("data", () => sock.end("HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nonly this")));
      try {
        const c = await get(`http://127.0.0.1:${await listen(cut)}/`, mode.usePoll);
        assert.match(String(c.error), /cut short: 9 of 100 bytes/);
        assert.equal(c.complete, false);
      } finally {
        cut.close();
      }
    });

    test("a server that closes before the header ends, and one that does not speak HTTP", { timeout: 15_000 }, async () => {
      const early = net.createServer((sock) => sock.once("data", () => sock.end("HTTP/1.0 200 OK\r\nConte")));
      const other = net.createServer((sock) => sock.once("data", () => sock.end("SSH-2.0-OpenSSH\r\n\r\n")));
      try {
        const a = await get(`http://127.0.0.1:${await listen(early)}/`, mode.usePoll);
        assert.match(String(a.error), /closed the connection before the end of the response header/);
        const b = await get(`http://127.0.0.1:${await listen(other)}/`, mode.usePoll);
        assert.match(String(b.error), /not an HTTP response: 'SSH-2\.0-OpenSSH'/);
      } finally {
        early.close();
        other.close();
      }
    });

    test("a header split over many small writes, and an HTTP/1.1 server that keeps the connection open", { timeout: 15_000 }, async () => {
      // Content-Length ends the response: the client does not wait for a close that never comes.
      const open = new Set<net.Socket>();
      const slow = net.createServer((sock) => {
        open.add(sock);
        sock.once("data", () => {
          const reply = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello";
          let i = 0;
          const drip = (): void => {
            if (i < reply.length) sock.write(reply.slice(i, i += 7), () => setImmediate(drip));
          };
          drip();
        });
        sock.on("error", () => {});
      });
      try {
        const c = await get(`http://127.0.0.1:${await listen(slow)}/`, mode.usePoll);
        assert.equal(c.error, null);
        assert.equal(c.body.toString(), "hello");
      } finally {
        for (const sock of open) sock.destroy();
        slow.close();
      }
    });
  });
}

test("parseHttpUrl: host, port, path, Host header; other schemes and bad URLs are refused", () => {
  assert.deepEqual(parseHttpUrl("http://example.org/a/b?c=d"), { secure: false, host: "example.org", port: 80, path: "/a/b?c=d", hostHeader: "example.org" });
  assert.deepEqual(parseHttpUrl("http://127.0.0.1:8080"), { secure: false, host: "127.0.0.1", port: 8080, path: "/", hostHeader: "127.0.0.1:8080" });
  assert.deepEqual(parseHttpUrl("http://[::1]:81/x"), { secure: false, host: "::1", port: 81, path: "/x", hostHeader: "[::1]:81" });
  assert.deepEqual(parseHttpUrl("https://example.org/x"), { secure: true, host: "example.org", port: 443, path: "/x", hostHeader: "example.org" });
  assert.throws(() => parseHttpUrl("ftp://example.org/"), { name: "TypeError", message: /only http:\/\/ and https:\/\/ URLs/ });
  assert.throws(() => parseHttpUrl("example.org"), { name: "TypeError", message: /invalid URL 'example.org'/ });
});
