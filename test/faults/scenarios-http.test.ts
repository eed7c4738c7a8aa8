// Fault scenarios against `asyncore http-get`: the hostile peer is the server. A reset, a silent
// server, garbage, a dripping answer, bytes past Content-Length, a chunked body, SIGINT. http-get
// is a short-lived client: what counts is its exit code, its stdout and one line on stderr.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli, startCli, stopAll } from "../helpers/cli-process.js";
import { type Peer, type PeerServer, listenPeer, pattern, sha256, resetAllPeers } from "./helpers/hostile-peer.js";

after(async () => {
  await resetAllPeers();
  await stopAll();
});

/** A server that waits for the request's blank line, then runs `respond`. */
async function httpServer(respond: (peer: Peer) => void | Promise<void>): Promise<PeerServer> {
  return listenPeer(async (peer) => {
    const deadline = Date.now() + 10_000;
    while (!peer.received().includes("\r\n\r\n")) {
      await peer.waitForBytes(peer.bytes + 1, Math.max(1, deadline - Date.now()));
    }
    await respond(peer);
  });
}

const url = (server: PeerServer, path = "/x"): string => `http://127.0.0.1:${server.port}${path}`;

/** Runs `scenario` against an httpServer(respond), closed afterwards whatever happens. */
async function against(respond: (peer: Peer) => void | Promise<void>, scenario: (server: PeerServer) => Promise<void>): Promise<void> {
  const server = await httpServer(respond);
  try {
    await scenario(server);
  } finally {
    await server.close();
  }
}

describe("http-get under faults", { timeout: 60_000 }, () => {
  it("a 1 MiB body with Content-Length arrives byte for byte (exit 0)", async () => {
    const body = pattern(1 << 20, 5);
    await against(async (peer) => {
      await peer.send(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      await peer.send(body);
      peer.end();
    }, async (server) => {
      const exit = await runCli(["http-get", url(server)]);
      assert.equal(exit.code, 0, exit.stderr);
      assert.equal(sha256(exit.stdoutBytes), sha256(body));
    });
  });

  it("a server that drips its answer one byte every 20 ms", async () => {
    await against(async (peer) => {
      await peer.drip("HTTP/1.0 200 OK\r\n\r\nhi", 20);
      peer.end();
    }, async (server) => {
      const exit = await runCli(["http-get", url(server)]);
      assert.equal(exit.code, 0, exit.stderr);
      assert.equal(exit.stdout, "hi");
    });
  });

  it("garbage instead of a response: exit 1, one line on stderr, no crash", async (t) => {
    await against(async (peer) => {
      await peer.garbage(64 * 1024);
      peer.end();
    }, async (server) => {
      const exit = await runCli(["http-get", url(server)]);
      t.diagnostic(`exit ${exit.code}: ${exit.stderr.trim()}`);
      assert.equal(exit.code, 1);
      assert.equal(exit.stderr.trim().split("\n").length, 1, exit.stderr);
      assert.equal(exit.signal, null);
    });
  });

  it("a server that resets after 300,000 bytes of a body without Content-Length: exit 1, \"connection reset after N bytes\"", async (t) => {
    await against(async (peer) => {
      await peer.send("HTTP/1.0 200 OK\r\n\r\n");
      await peer.send(pattern(300_000));
      await sleep(100);
      peer.reset();
    }, async (server) => {
      const exit = await runCli(["http-get", url(server)]);
      t.diagnostic(`exit ${exit.code}, ${exit.stdoutBytes.length} bytes written: ${exit.stderr.trim()}`);
      assert.equal(exit.code, 1);
      assert.match(exit.stderr, /connection reset after \d+ bytes/);
    });
  });

  it("a silent server: --timeout 1 bounds the whole request", async (t) => {
    // The server reads the request and never answers.
    await against(() => {}, async (server) => {
      const t0 = performance.now();
      const exit = await runCli(["http-get", "--timeout", "1", url(server)], { timeoutMs: 8_000 });
      const ms = performance.now() - t0;
      t.diagnostic(`exit ${exit.code} after ${ms.toFixed(0)} ms (killed: ${exit.timedOut}): ${exit.stderr.trim()}`);
      assert.equal(exit.timedOut, false, "http-get hung past its --timeout");
      assert.equal(exit.code, 1);
      assert.ok(ms < 4_000);
    });
  });

  it("bytes past Content-Length are not written", async () => {
    await against(async (peer) => {
      await peer.send("HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhelloEXTRA BYTES");
      peer.end();
    }, async (server) => {
      const exit = await runCli(["http-get", url(server)]);
      assert.equal(exit.stdout, "hello");
    });
  });

  it("a chunked body is written without its framing", async () => {
    await against(async (peer) => {
      await peer.send("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
      peer.end();
    }, async (server) => {
      const exit = await runCli(["http-get", url(server)]);
      assert.equal(exit.code, 0, exit.stderr);
      assert.equal(exit.stdout, "hello world");
    });
  });

  it("SIGINT with the body cut short exits 130", async () => {
    await against(async (peer) => {
      await peer.send("HTTP/1.0 200 OK\r\nContent-Length: 1000000\r\n\r\npart of it");
    }, async (server) => {
      const proc = startCli(["http-get", url(server)]);
      const deadline = Date.now() + 5_000;
      while (proc.stdoutBytes.length === 0 && Date.now() < deadline) await sleep(20);
      const exit = await proc.stop("SIGINT");
      assert.equal(exit.code, 130, `exit ${exit.code} ${exit.signal}: ${exit.stderr}`);
    });
  });
});
