// The examples as programs: `npm start` (dist/examples/demo.js) ends by itself with exit 0, and
// each example runs directly with `node dist/examples/<name>.js ...`.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { EXAMPLES, start, stopAll } from "./helpers/cli-process.js";

after(stopAll);

const example = (name: string): string => path.join(EXAMPLES, `${name}.js`);

test("npm start: the demo runs every step and exits 0 by itself", { timeout: 30_000 }, async () => {
  const r = await start(process.execPath, [example("demo")], { timeoutMs: 25_000 }).exited;
  assert.equal(r.timedOut, false);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, "");
  for (let step = 1; step <= 7; step++) assert.match(r.stdout, new RegExp(`^${step}\\. `, "m"));
  assert.match(r.stdout, /^ {3}\[echo client\] c1 recv 7: abcdefg$/m);
  assert.match(r.stdout, /^ {3}\[echo client\] c2 recv 7: hijklmn$/m);
  assert.equal((r.stdout.match(/^ {3}ok: /gm) ?? []).length, 4);
  assert.match(r.stdout, /\ndemo: every step worked\n$/);
});

test("echo-server.js and echo-client.js run as programs", { timeout: 20_000 }, async () => {
  const server = start(process.execPath, [example("echo-server"), "127.0.0.1", "0"], { timeoutMs: 15_000 });
  const port = (await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]!;
  const client = await start(process.execPath, [example("echo-client"), "127.0.0.1", port], { timeoutMs: 10_000 }).exited;
  assert.equal(client.code, 0, client.stderr);
  assert.deepEqual(client.stdout.trimEnd().split("\n").sort(), ["c1 recv 7: abcdefg", "c2 recv 7: hijklmn"]);
  const custom = await start(process.execPath, [example("echo-client"), "127.0.0.1", port, "one", "two", "three"], { timeoutMs: 10_000 }).exited;
  assert.deepEqual(custom.stdout.trimEnd().split("\n").sort(), ["c1 recv 3: one", "c2 recv 3: two", "c3 recv 5: three"]);
  await server.waitForCount(/^Incoming connection from 127\.0\.0\.1:\d+$/m, 5, "stdout");
  await server.stop("SIGKILL");
});

test("port-forwarder.js and http-client.js run as programs", { timeout: 20_000 }, async () => {
  const web = http.createServer((req, res) => {
    if (req.url === "/hi") res.end("hi there\n");
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => web.listen(0, "127.0.0.1", resolve));
  try {
    const webPort = (web.address() as net.AddressInfo).port;
    const fwd = start(process.execPath, [example("port-forwarder"), "-p", "0", "-r", "127.0.0.1", "-P", String(webPort)], { timeoutMs: 15_000 });
    const port = (await fwd.waitFor(/forwarding 127\.0\.0\.1:(\d+) to/))[1]!;
    const ok = await start(process.execPath, [example("http-client"), `http://127.0.0.1:${port}/hi`], { timeoutMs: 10_000 }).exited;
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, "hi there\n");
    const missing = await start(process.execPath, [example("http-client"), `http://127.0.0.1:${port}/nope`], { timeoutMs: 10_000 }).exited;
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^HTTP 404 Not Found$/m);
    const usage = await start(process.execPath, [example("port-forwarder")], { timeoutMs: 10_000 }).exited;
    assert.equal(usage.code, 2);
    await fwd.stop("SIGKILL");
  } finally {
    web.close();
  }
});

test("chat-server.js and chat-client.js run as programs", { timeout: 20_000 }, async () => {
  const server = start(process.execPath, [example("chat-server"), "127.0.0.1", "0"], { timeoutMs: 15_000 });
  const port = (await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]!;
  const listener = start(process.execPath, [example("chat-client"), "127.0.0.1", port], { timeoutMs: 15_000, keepStdin: true });
  await listener.waitFor(/^\* welcome /m, "stdout");
  const talker = await start(process.execPath, [example("chat-client"), "127.0.0.1", port], { timeoutMs: 10_000, input: "hello from a program\n" }).exited;
  assert.equal(talker.code, 0, talker.stderr);
  await listener.waitFor(/^<127\.0\.0\.1:\d+> hello from a program$/m, "stdout");
  listener.child.stdin!.end();
  await server.stop("SIGKILL");  // the listener sees the end of the stream and exits
  const r = await listener.exited;
  assert.equal(r.code, 0, r.stderr);
});
