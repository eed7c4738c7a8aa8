// `asyncore forward` under faults, on both poller backends: a side that half-closes and then goes
// away (nothing leaks, nothing hangs), resets passed on as resets, and a descriptor limit that
// stops the forwarder from opening its connection to the remote (no crash, nobody dropped).
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import net from "node:net";
import { CLI, type Running, start, stopAll } from "../helpers/cli-process.js";
import { LIBRARY_URL, runNode } from "../helpers/child-process.js";
import { listen } from "../helpers/listen.js";
import { readToEnd, waitReadable } from "../helpers/raw-reader.js";
import { within } from "../helpers/within.js";
import { AF_INET, Socket } from "../../src/index.js";

after(stopAll);

const BACKENDS = ["epoll", "uv"] as const;

/** `asyncore forward -p 0 -r 127.0.0.1 -P remotePort` on `backend`, optionally under `ulimit -n`. */
async function startForward(remotePort: number, backend: string, options: { fdLimit?: number; extra?: string[] } = {}): Promise<{ proc: Running; port: number; pid: number }> {
  const command = [process.execPath, CLI, "forward", "-p", "0", "-r", "127.0.0.1", "-P", String(remotePort), ...(options.extra ?? [])];
  const proc = options.fdLimit === undefined
    ? start("env", [`ASYNCORE_POLLER=${backend}`, ...command], { timeoutMs: 60_000 })
    : start("bash", ["-c", `ulimit -n ${options.fdLimit} && exec env ASYNCORE_POLLER=${backend} "$@"`, "bash", ...command], { timeoutMs: 60_000 });
  const m = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return { proc, port: Number(m[1]), pid: proc.child.pid! };
}

function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

/** Polls `probe` (an outside process's state: there is no event to await) until it holds or `ms` pass. */
async function settle<T>(probe: () => T, ok: (value: T) => boolean, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  let value = probe();
  while (!ok(value) && Date.now() < end) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    value = probe();
  }
  return value;
}

/** Waits until the forwarder holds no more descriptors than `baseline` (if given), then SIGTERM: exit 0. */
async function expectCleanStop(fwd: { proc: Running; pid: number }, baseline: number | null, what = ""): Promise<void> {
  if (baseline !== null) {
    const fds = await settle(() => fdCount(fwd.pid), (n) => n <= baseline);
    assert.ok(fds <= baseline, `${fds - baseline} descriptors left${what}`);
  }
  const r = await fwd.proc.stop("SIGTERM");
  assert.equal(r.code, 0, r.stderr);
}

/** Writes `chunk` again and again while the socket takes it, until it closes. */
function stream(sock: net.Socket, chunk: Buffer): void {
  const more = (): void => {
    while (!sock.destroyed && sock.write(chunk));
    if (!sock.destroyed) sock.once("drain", more);
  };
  more();
}

const CONNECTIONS = 5;
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

for (const backend of BACKENDS) {
  describe(`forward, ASYNCORE_POLLER=${backend}`, () => {
    for (const how of ["close", "reset"] as const) {
      test(`a client half-closes, reads part of a streamed reply, then ${how}s: the remote side is closed too, no descriptor left`, { timeout: 30_000 }, async () => {
        const remoteClosed: Promise<void>[] = [];
        const remote = net.createServer({ allowHalfOpen: true }, (sock) => {
          sock.on("error", () => {});
          remoteClosed.push(new Promise((resolve) => sock.once("close", () => resolve())));
          sock.resume();
          sock.once("end", () => stream(sock, CHUNK));  // the request is in: an endless reply
        });
        const fwd = await startForward(await listen(remote), backend);
        try {
          const baseline = fdCount(fwd.pid);
          for (let i = 0; i < CONNECTIONS; i++) {
            const client = net.connect({ port: fwd.port, host: "127.0.0.1", allowHalfOpen: true });
            client.on("error", () => {});
            client.end("request");
            let got = 0;
            await within(new Promise<void>((resolve) => client.on("data", (d: Buffer) => { got += d.length; if (got >= 200_000) resolve(); })),
              10_000, () => `connection ${i + 1}: ${got} bytes of the reply read; forwarder: ${fwd.proc.stderr}`);
            if (how === "reset") client.resetAndDestroy();
            else client.destroy();
          }
          await within(Promise.all(remoteClosed), 10_000, () => `the remote side still open; ${fdCount(fwd.pid) - baseline} descriptors over the baseline`);
          await expectCleanStop(fwd, baseline, ` after ${CONNECTIONS} connections`);
        } finally {
          remote.close();
        }
      });
    }

    test("the remote half-closes, then resets: the client's upload fails at once instead of hanging, no descriptor left", { timeout: 30_000 }, async () => {
      const remote = net.createServer({ allowHalfOpen: true }, (sock) => {
        sock.on("error", () => {});
        let got = 0;
        sock.end("reply\n");  // all the answer there is: a FIN
        sock.on("data", (d: Buffer) => {
          got += d.length;
          if (got >= 200_000) sock.resetAndDestroy();
        });
      });
      const fwd = await startForward(await listen(remote), backend);
      try {
        const baseline = fdCount(fwd.pid);
        for (let i = 0; i < CONNECTIONS; i++) {
          const client = net.connect({ port: fwd.port, host: "127.0.0.1", allowHalfOpen: true });
          const ended = new Promise<string>((resolve) => {
            client.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
            client.on("close", () => resolve("close"));
          });
          client.resume();
          client.once("connect", () => stream(client, CHUNK));
          const outcome = await Promise.race([ended, new Promise<string>((resolve) => setTimeout(() => resolve("hang"), 5_000))]);
          client.destroy();
          assert.match(outcome, /^(ECONNRESET|EPIPE)$/, `connection ${i + 1}: the upload ended with '${outcome}'`);
        }
        await expectCleanStop(fwd, baseline, ` after ${CONNECTIONS} connections`);
      } finally {
        remote.close();
      }
    });

    test("a remote that resets mid-stream: the client sees a reset, not a clean end, and the forwarder logs it", { timeout: 30_000 }, async () => {
      const remote = net.createServer((sock) => {
        sock.on("error", () => {});
        sock.once("data", () => {
          let sent = 0;
          const more = (): void => {
            while (sent < 2 * 1024 * 1024) {
              sent += CHUNK.length;
              if (!sock.write(CHUNK)) { sock.once("drain", more); return; }
            }
            sock.resetAndDestroy();
          };
          more();
        });
      });
      const fwd = await startForward(await listen(remote), backend);
      try {
        // A client that reads with plain recv() calls (Node's own sockets report a reset that
        // arrives with the hang-up as a clean end: libuv takes POLLHUP after a short read as EOF).
        const client = await runNode(`
          import { Socket } from ${JSON.stringify(LIBRARY_URL)};
          const sock = new Socket();
          sock.setblocking(true);
          sock.connect(["127.0.0.1", ${fwd.port}]);
          sock.send(Buffer.from("GET /\\n"));
          let received = 0;
          let outcome = "clean end";
          for (;;) {
            try {
              const data = sock.recv(65536);
              if (data.length === 0) break;
              received += data.length;
            } catch (err) {
              outcome = err.code;
              break;
            }
          }
          sock.close();
          console.log(JSON.stringify({ received, outcome }));
        `, { timeoutMs: 15_000 });
        assert.equal(client.code, 0, client.stderr);
        const { received, outcome } = JSON.parse(client.stdout) as { received: number; outcome: string };
        assert.equal(outcome, "ECONNRESET", `after ${received} bytes the client saw '${outcome}'`);
        await fwd.proc.waitFor(/asyncore: forward: connection to 127\.0\.0\.1:\d+: connection reset by peer \(ECONNRESET\) after \d+ bytes received, \d+ sent; reset passed on to the forwarded connection from 127\.0\.0\.1:\d+\n/);
        await expectCleanStop(fwd, null);
      } finally {
        remote.close();
      }
    });

    test("a client that resets mid-upload: the remote's recv() sees its bytes, then a reset, not a clean end", { timeout: 30_000 }, async () => {
      // The remote reads with the library's recv() only once the reset has been passed on, so
      // that it arrives behind bytes not read yet (the case Node's sockets report as a clean end).
      const listener = new Socket(AF_INET);
      listener.bind(["127.0.0.1", 0]);
      listener.listen(1);
      let conn: Socket | null = null;
      try {
        const fwd = await startForward((listener.getsockname() as [string, number])[1], backend);
        const client = net.connect(fwd.port, "127.0.0.1");
        client.on("error", () => {});
        client.write(CHUNK);
        await waitReadable(listener, 5_000);
        conn = listener.accept()[0];
        await waitReadable(conn, 5_000);  // the upload is under way
        client.resetAndDestroy();
        await fwd.proc.waitFor(/forwarded connection from 127\.0\.0\.1:\d+: connection reset by peer \(ECONNRESET\) after \d+ bytes received, \d+ sent; reset passed on to the connection to 127\.0\.0\.1:\d+\n/);
        const end = await readToEnd(conn);
        assert.equal(end.outcome, "ECONNRESET", `after ${end.received} bytes the remote read '${end.outcome}'`);
        assert.ok(end.received > 0 && end.received <= CHUNK.length, `${end.received} bytes`);
        await expectCleanStop(fwd, null);
      } finally {
        conn?.close();
        listener.close();
      }
    });

    test("a descriptor limit hit when opening the remote connection: no crash, every client served once descriptors free up", { timeout: 60_000 }, async () => {
      // An echo that takes 100 ms: the connections pile up at the forwarder meanwhile.
      const remote = net.createServer((sock) => {
        sock.on("error", () => {});
        sock.on("data", (d: Buffer) => setTimeout(() => { if (!sock.destroyed) sock.write(d); }, 100));
      });
      const remotePort = await listen(remote);
      let socketShortages = 0;
      try {
        // About 21 descriptors are in use at start (node, the poller, stdio, the listener): room
        // for ~5 forwarded pairs. Two limits, one odd and one even, so that both accept() and
        // the socket() for the remote side run out at some point.
        for (const fdLimit of [32, 33]) {
          const fwd = await startForward(remotePort, backend, { fdLimit });
          const baseline = fdCount(fwd.pid);
          const CLIENTS = 30;
          const results = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => new Promise<string>((resolve) => {
            const client = net.connect(fwd.port, "127.0.0.1");
            const message = `hello ${i}\n`;
            let echoed = "";
            const timer = setTimeout(() => { resolve("hang"); client.destroy(); }, 20_000);
            client.on("data", (d: Buffer) => {
              echoed += d.toString();
              if (echoed === message) { clearTimeout(timer); client.end(); resolve("ok"); }
            });
            client.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? "error"));
            client.on("close", () => resolve(echoed === message ? "ok" : `closed after '${echoed}'`));
            client.write(message);
          })));
          const failed = results.filter((r) => r !== "ok");
          assert.deepEqual(failed, [], `ulimit -n ${fdLimit}: ${failed.length} of ${CLIENTS} clients not served: ${[...new Set(failed)].join(", ")}; stderr: ${fwd.proc.stderr}`);
          assert.equal(fwd.proc.child.exitCode, null, "the forwarder is still running");
          const fds = await settle(() => fdCount(fwd.pid), (n) => n <= baseline);
          assert.ok(fds <= baseline, `${fds - baseline} descriptors left`);
          const lines = fwd.proc.stderr.split("\n").filter((l) => l.startsWith("asyncore: forward:"));
          assert.ok(lines.length <= 8, `ulimit -n ${fdLimit}: ${lines.length} lines on stderr\n${fwd.proc.stderr}`);
          assert.match(fwd.proc.stderr, /EMFILE/);
          socketShortages += fwd.proc.stderr.match(/cannot open a connection to 127\.0\.0\.1:\d+: too many open files \(EMFILE\); accepting paused/g)?.length ?? 0;
          const r = await fwd.proc.stop("SIGTERM");
          assert.equal(r.code, 0, r.stderr);
          assert.equal(r.stdout, "");
        }
        assert.ok(socketShortages > 0, "socket() for the remote side never ran out of descriptors");
      } finally {
        remote.close();
      }
    });
  });
}
