// asyncore echo-server --workers N: threads sharing one port through SO_REUSEPORT. Every
// connection is echoed, both workers take some, port 0 gives one port, signals stop them all
// with the usual exit codes, no descriptor outlives its connection, a port in use is one line.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import tls from "node:tls";
import { runCli, startCli, stopAll } from "./helpers/cli-process.js";
import { IPV6 } from "./helpers/families.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";

after(stopAll);

async function startWorkers(args: readonly string[]) {
  const proc = startCli(["echo-server", "--port", "0", ...args], { timeoutMs: 30_000 });
  const m = await proc.waitFor(/echo-server listening on (\[[^\]]+\]|[^:\s]+):(\d+) \((\d+) workers\)\n/);
  return { proc, host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]), workers: Number(m[3]) };
}

/** `count` connections at once, each sending its own bytes and half-closing; resolves once each got them all back and the server closed. */
function echoMany(host: string, port: number, count: number): Promise<void> {
  return Promise.all(Array.from({ length: count }, (_, i) => new Promise<void>((resolve, reject) => {
    const message = Buffer.alloc(1000 + i, i & 0xff);
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port }, () => s.end(message));
    s.on("data", (c: Buffer) => chunks.push(c));
    s.on("error", reject);
    s.on("close", () => {
      const got = Buffer.concat(chunks);
      if (got.equals(message)) resolve();
      else reject(new Error(`connection ${i}: sent ${message.length} bytes, got back ${got.length} different ones`));
    });
  }))).then(() => {});
}

function workerCounts(stderr: string): number[] {
  return [...stderr.matchAll(/^echo-server worker (\d+): (\d+) connections?$/gm)].sort((a, b) => Number(a[1]) - Number(b[1])).map((m) => Number(m[2]));
}

const openFds = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length;

test("--workers 2 --port 0: one shared port, 80 connections echoed, both workers take some; SIGTERM stops all, exit 0", { timeout: 30_000 }, async () => {
  const { proc, host, port, workers } = await startWorkers(["--workers", "2"]);
  assert.equal(workers, 2);
  const baseline = openFds(proc.child.pid!);
  // Several rounds: the kernel hashes each connection's addresses to a listener.
  for (let round = 0; round < 4; round++) await echoMany(host, port, 20);
  // Each client saw the server close (its FIN came from close()): no descriptor of theirs is left.
  assert.equal(openFds(proc.child.pid!), baseline, "the server holds as many descriptors as before the connections");
  const exit = await proc.stop("SIGTERM");
  assert.equal(exit.code, 0);
  assert.equal(exit.signal, null);
  const counts = workerCounts(exit.stderr);
  assert.equal(counts.length, 2, exit.stderr);
  assert.equal(counts[0]! + counts[1]!, 80);
  assert.ok(counts[0]! > 0 && counts[1]! > 0, `both workers took connections: ${counts.join(" + ")}`);
  assert.equal(exit.stdout.match(/^Incoming connection from 127\.0\.0\.1:\d+$/gm)?.length, 80);
});

test("--workers 3: SIGINT stops every worker, exit 130, each reports", { timeout: 30_000 }, async () => {
  const { proc, host, port } = await startWorkers(["--workers", "3"]);
  await echoMany(host, port, 10);
  const exit = await proc.stop("SIGINT");
  assert.equal(exit.code, 130);
  assert.equal(workerCounts(exit.stderr).reduce((a, b) => a + b, 0), 10);
  assert.equal(workerCounts(exit.stderr).length, 3);
});

test("--workers 2 with connections still open: SIGTERM closes them and exits 0", { timeout: 30_000 }, async () => {
  const { proc, host, port } = await startWorkers(["--workers", "2"]);
  const open = await Promise.all(Array.from({ length: 10 }, () => new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port }, () => resolve(s));
    s.on("error", reject);
  })));
  const closed = Promise.all(open.map((s) => new Promise((resolve) => s.on("close", resolve))));
  await proc.waitForCount(/^Incoming connection from /m, 10, "stdout");
  const exit = await proc.stop("SIGTERM");
  assert.equal(exit.code, 0);
  await closed;  // every connection was closed by the server
});

test("--workers 2 over IPv6", { timeout: 30_000, skip: IPV6.skip }, async () => {
  const { proc, host, port } = await startWorkers(["--workers", "2", "--host", "::1"]);
  assert.equal(host, "::1");
  await echoMany(host, port, 20);
  assert.equal((await proc.stop("SIGTERM")).code, 0);
});

test("--workers 2 on a port in use: exit 1 with one line, no worker left", { timeout: 30_000 }, async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    const r = await runCli(["echo-server", "--port", String(port), "--workers", "2"], { timeoutMs: 20_000 });
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `asyncore: echo-server: cannot listen on 127.0.0.1:${port}: address already in use (EADDRINUSE)\n`);
  } finally {
    busy.close();
  }
});

test("--workers: bad values are usage errors", { timeout: 20_000 }, async () => {
  for (const value of ["0", "x", "257"]) {
    const r = await runCli(["echo-server", "--workers", value], { timeoutMs: 10_000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`^asyncore: invalid value '${value}' for --workers: it must be a whole number from 1 to 256 \\(see 'asyncore echo-server --help'\\)\\n$`));
  }
});

test("--workers 2 with --tls-cert/--tls-key: each worker serves TLS (node:tls clients, every byte back)", { timeout: 30_000, skip: opensslSkipReason() ?? false }, async () => {
  const { localhost } = certs();
  const { proc, port } = await startWorkers(["--workers", "2", "--tls-cert", localhost.certFile, "--tls-key", localhost.keyFile]);
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => new Promise<string>((resolve, reject) => {
    let got = "";
    const s = tls.connect({ host: "127.0.0.1", port, ca: localhost.cert, servername: "localhost" }, () => s.write(`tls ${i}`));
    s.setEncoding("utf8").on("data", (c: string) => {
      got += c;
      if (got === `tls ${i}`) s.end();
    });
    s.on("error", reject).on("close", () => resolve(got));
  })));
  assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => `tls ${i}`));
  const exit = await proc.stop("SIGTERM");
  assert.equal(exit.code, 0);
  assert.equal(workerCounts(exit.stderr).reduce((a, b) => a + b, 0), 20);
});

test("--workers 2 with --idle-timeout: an idle connection is closed by its worker", { timeout: 30_000 }, async () => {
  const { proc, host, port } = await startWorkers(["--workers", "2", "--idle-timeout", "0.2"]);
  const s = net.connect({ host, port });
  await new Promise((resolve) => s.on("close", resolve).on("error", () => {}));
  await proc.waitFor(/^Idle connection from 127\.0\.0\.1:\d+ closed after 0\.2 s$/m, "stdout");
  assert.equal((await proc.stop("SIGTERM")).code, 0);
});
