// End to end over loopback: `asyncore echo-server` driven by `asyncore echo-client` and by
// Python 3.11 asyncore clients (test/peers/cli_asyncore_echo_client.py).
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { type Running, pythonSkipReason, runCli, startPython, startServer, stopAll } from "./helpers/cli-process.js";

const pythonSkip = pythonSkipReason();

describe("asyncore echo-server", () => {
  let server: { proc: Running; port: number } | null = null;
  before(async () => {
    server = await startServer(["echo-server", "--port", "0"], { timeoutMs: 120_000 });
  });
  after(async () => {
    if (server !== null) {
      const r = await server.proc.stop("SIGTERM");
      assert.equal(r.code, 0, r.stderr);
    }
    await stopAll();
  });

  test("asyncore echo-client: each message comes back, one line per read", { timeout: 20_000 }, async () => {
    const r = await runCli(["echo-client", "--port", String(server!.port), "--message", "hello asyncore"], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "c1 recv 14: hello asyncore\n");
  });

  test("asyncore echo-client --count 20: twenty clients in one map", { timeout: 20_000 }, async () => {
    const before = (server!.proc.stdout.match(/Incoming connection from/g) ?? []).length;
    const r = await runCli(["echo-client", "--host", "localhost", "--port", String(server!.port), "--message", "abcdefg", "--count", "20"], { timeoutMs: 15_000 });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split("\n").sort();
    const expected = Array.from({ length: 20 }, (_, i) => `c${i + 1} recv 7: abcdefg`).sort();
    assert.deepEqual(lines, expected);
    // The server printed a line for each of them.
    await server!.proc.waitForCount(/^Incoming connection from 127\.0\.0\.1:\d+$/m, before + 20, "stdout");
  });

  test("asyncore echo-client with a 100 kB message: it all comes back", { timeout: 30_000 }, async () => {
    const message = "0123456789abcdef".repeat(6250);  // one argument can hold at most 128 KiB
    const r = await runCli(["echo-client", "--port", String(server!.port), "--message", message], { timeoutMs: 25_000 });
    assert.equal(r.code, 0, r.stderr);
    let total = 0;
    let text = "";
    for (const line of r.stdout.trimEnd().split("\n")) {
      const m = /^c1 recv (\d+): (.*)$/.exec(line);
      assert.ok(m !== null, line.slice(0, 80));
      total += Number(m[1]);
      text += m[2];
    }
    assert.equal(total, message.length);
    assert.equal(text, message);
  });

  test("Python asyncore clients: 5 connections of 300 kB each, echoed byte for byte", { timeout: 40_000, skip: pythonSkip ?? false }, async () => {
    const r = await startPython("cli_asyncore_echo_client.py", ["127.0.0.1", String(server!.port), "300000", "5"], { timeoutMs: 30_000 }).exited;
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trimEnd().split("\n").sort(), [1, 2, 3, 4, 5].map((n) => `client ${n}: 300000 bytes echoed`));
  });

  test("Python asyncore clients: 50 small messages at once", { timeout: 40_000, skip: pythonSkip ?? false }, async () => {
    const r = await startPython("cli_asyncore_echo_client.py", ["127.0.0.1", String(server!.port), "100", "50"], { timeoutMs: 30_000 }).exited;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trimEnd().split("\n").length, 50);
  });
});
