// --idle-timeout SECONDS on echo-server, chat-server and forward: an idle connection is closed
// (with one line), a busy one is not.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { runCli, startServer, stopAll } from "../helpers/cli-process.js";

after(stopAll);

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1", () => resolve(sock));
    sock.once("error", reject);
  });
}

/** Resolves with how the socket ended ("end", or an error code) and after how many ms. */
function ending(sock: net.Socket): Promise<{ how: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    sock.on("error", (err: NodeJS.ErrnoException) => resolve({ how: err.code ?? "error", ms: Date.now() - started }));
    sock.on("end", () => resolve({ how: "end", ms: Date.now() - started }));
    sock.on("close", () => resolve({ how: "close", ms: Date.now() - started }));
    sock.resume();
  });
}

test("echo-server --idle-timeout 0.5: an idle connection is closed with a line, a busy one is not", { timeout: 20_000 }, async () => {
  const { proc, port } = await startServer(["echo-server", "--port", "0", "--idle-timeout", "0.5"], { timeoutMs: 15_000 });
  const idle = await connect(port);
  const idleEnd = ending(idle);
  const busy = await connect(port);
  let echoed = 0;
  busy.on("data", (d: Buffer) => { echoed += d.length; });
  let busyClosed = false;
  busy.on("close", () => { busyClosed = true; });
  const ticker = setInterval(() => busy.write("tick"), 100);
  const { how, ms } = await idleEnd;
  assert.equal(how, "end");
  assert.ok(ms >= 400 && ms < 3_000, `closed after ${ms} ms`);
  await new Promise((resolve) => setTimeout(resolve, 800));  // the busy one outlives the timeout
  clearInterval(ticker);
  assert.equal(busyClosed, false);
  assert.ok(echoed > 0);
  busy.destroy();
  await proc.waitFor(/^Idle connection from 127\.0\.0\.1:\d+ closed after 0\.5 s$/m, "stdout");
  const r = await proc.stop("SIGTERM");
  assert.equal(r.code, 0);
  assert.equal(r.stdout.match(/^Idle connection/gm)?.length, 1, r.stdout);
});

test("chat-server --idle-timeout 0.5: a silent client is disconnected, with one line", { timeout: 20_000 }, async () => {
  const { proc, port } = await startServer(["chat-server", "--port", "0", "--idle-timeout", "0.5"], { timeoutMs: 15_000 });
  const sock = await connect(port);
  const { how, ms } = await ending(sock);
  assert.equal(how, "end");
  assert.ok(ms >= 400 && ms < 3_000, `closed after ${ms} ms`);
  await proc.waitFor(/^127\.0\.0\.1:\d+ idle for 0\.5 s: disconnected$/m, "stdout");
  await proc.waitFor(/ left \(0 connected\)/, "stdout");
  const r = await proc.stop("SIGTERM");
  assert.equal(r.code, 0);
});

test("forward --idle-timeout 0.5: both sides of an idle connection are reset, with one line", { timeout: 20_000 }, async () => {
  let remoteEnd!: Promise<{ how: string; ms: number }>;
  let accepted!: () => void;
  const remoteAccepted = new Promise<void>((resolve) => { accepted = resolve; });
  const remote = net.createServer((sock) => { remoteEnd = ending(sock); accepted(); });
  await new Promise<void>((resolve) => remote.listen(0, "127.0.0.1", resolve));
  const remotePort = (remote.address() as net.AddressInfo).port;
  try {
    const { proc, port } = await startServer(["forward", "-p", "0", "-r", "127.0.0.1", "-P", String(remotePort), "--idle-timeout", "0.5"], { timeoutMs: 15_000 });
    const client = await connect(port);
    const clientEnd = ending(client);
    await remoteAccepted;
    const [c, r] = await Promise.all([clientEnd, remoteEnd]);
    assert.equal(c.how, "ECONNRESET");
    assert.equal(r.how, "ECONNRESET");
    assert.ok(c.ms >= 400 && c.ms < 3_000, `closed after ${c.ms} ms`);
    await proc.waitFor(/asyncore: forward: .*: idle for 0\.5 s after 0 bytes received, 0 sent; reset passed on to the /);
    const exit = await proc.stop("SIGTERM");
    assert.equal(exit.code, 0);
    assert.equal(exit.stderr.match(/idle for/g)?.length, 1, exit.stderr);
  } finally {
    remote.close();
  }
});

test("--idle-timeout must be a positive number of seconds", { timeout: 15_000 }, async () => {
  for (const bad of ["0", "-1", "abc", "1e3", "100000"]) {
    const r = await runCli(["echo-server", "--port", "0", `--idle-timeout=${bad}`], { timeoutMs: 10_000 });
    assert.equal(r.code, 2, bad);
    assert.match(r.stderr, /invalid value .* for --idle-timeout: it must be a number of seconds above 0/);
  }
});
