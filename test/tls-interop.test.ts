// TLS against peers nobody here wrote: `openssl s_server` and `openssl s_client`, Python 3.11's
// ssl module as a client, and a Python asyncore + ssl server that handshakes by hand in its loop.
// Every byte is checked.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import type { SocketMap } from "../src/loop.js";
import type { Socket } from "../src/socket.js";
import { TLSContext, TLSDispatcherWithSend } from "../src/tls.js";
import { pythonSkipReason, start, startPython, stopAll } from "./helpers/cli-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { EchoClient, EchoServer } from "./helpers/tls-echo.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;
const pythonSkip = pythonSkipReason() ?? skip;

/** Sends lines to `openssl s_server -rev`, which answers each reversed; "CLOSE" ends the session. */
class RevClient extends TLSDispatcherWithSend {
  text = "";
  ended = false;
  constructor(ctx: TLSContext, port: number, map: SocketMap, readonly lines: string[]) {
    super(null, map);
    this.createSocket();
    this.connect(["127.0.0.1", port], ctx, { serverName: "localhost" });
  }
  override handleConnect(): void {
    this.send(Buffer.from(this.lines.map((l) => `${l}\n`).join("") + "CLOSE\n"));
  }
  override handleRead(): void {
    this.text += this.recv(65536).toString("latin1");
  }
  override handleError(err: unknown): void {
    this.closeError ??= err as Error;
    this.handleClose();
  }
  override handleClose(): void {
    this.ended = true;
    this.close();
  }
}

after(() => stopAll());

for (const mode of POLLERS) {
  describe(`TLS interop, ${mode.name}`, { skip }, () => {
    test("our client against openssl s_server -rev: lines come back reversed, then a clean close", { timeout: 30_000 }, async () => {
      const c = certs().localhost;
      const server = start("openssl", ["s_server", "-accept", "127.0.0.1:0", "-cert", c.certFile, "-key", c.keyFile, "-naccept", "1", "-rev"], { timeoutMs: 25_000 });
      const port = Number((await server.waitFor(/ACCEPT 127\.0\.0\.1:(\d+)/, "stdout"))[1]);
      const map: SocketMap = new Map();
      const lines = Array.from({ length: 200 }, () => crypto.randomBytes(90).toString("base64"));
      const client = new RevClient(new TLSContext({ ca: c.cert }), port, map, lines);
      await runUntil(map, mode.usePoll, () => client.ended, 20_000);
      assert.equal(client.closeError, null, String(client.closeError));
      for (const line of lines) assert.ok(client.text.includes([...line].reverse().join("")), "a reversed line is missing");
      await server.exited;
    });

    test("openssl s_client against our server: 100 kB echoed byte for byte, verified by name", { timeout: 30_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const payload = Array.from({ length: 1000 }, () => crypto.randomBytes(75).toString("base64")).join("\n") + "\n";
      // The server ends the session (close_notify) once it has echoed everything: s_client then exits.
      class Closing extends EchoServer {
        override handleAccepted(sock: Socket): void {
          super.handleAccepted(sock);
          const h = this.handlers.at(-1)!;
          let seen = 0;
          h.handleRead = () => {
            const data = h.recv(65536);
            h.send(data);
            seen += data.length;
            if (seen >= payload.length) h.tlsShutdown();
          };
        }
      }
      const server = new Closing(new TLSContext({ cert: c.cert, key: c.key }), map);
      const proc = start("openssl", ["s_client", "-connect", `127.0.0.1:${server.port}`, "-CAfile", c.certFile, "-servername", "localhost",
        "-verify_hostname", "localhost", "-verify_return_error", "-quiet", "-nocommands"], { input: payload, timeoutMs: 25_000 });
      let exited = false;
      void proc.exited.then(() => { exited = true; });
      await runUntil(map, mode.usePoll, () => exited, 25_000);
      const r = await proc.exited;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.length, payload.length, r.stderr);
      assert.equal(r.stdout, payload);
      assert.equal(server.ended[0]?.error ?? null, null);
    });

    test("renegotiation is refused: openssl s_client -tls1_2 asking for it (R) fails, the server stays up", { timeout: 30_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const server = new EchoServer(new TLSContext({ cert: c.cert, key: c.key }), map);
      const proc = start("openssl", ["s_client", "-tls1_2", "-connect", `127.0.0.1:${server.port}`, "-CAfile", c.certFile], { keepStdin: true, timeoutMs: 25_000 });
      let exited = false;
      void proc.exited.then(() => { exited = true; });
      let step = 0;
      await runUntil(map, mode.usePoll, () => {
        // one line echoed, then the renegotiation request
        if (step === 0 && server.handlers[0]?.secured === true) { proc.child.stdin!.write("before\n"); step = 1; }
        if (step === 1 && /^before$/m.test(proc.stdout)) { proc.child.stdin!.write("R\n"); step = 2; }
        return exited || server.ended.length === 1;
      }, 25_000);
      proc.child.stdin!.end();
      const r = await proc.exited;
      assert.match(r.stdout + r.stderr, /RENEGOTIATING/);
      assert.match(r.stdout + r.stderr, /no renegotiation/);
      assert.ok(server.ended[0]?.error != null, "the session ended with an error, not renegotiated");
    });

    test("Python ssl clients (verifying, TLS 1.3): 5 connections of 300 kB, echoed and unwrapped", { timeout: 40_000, skip: pythonSkip }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const server = new EchoServer(new TLSContext({ cert: c.cert, key: c.key }), map);
      const proc = startPython("tls_echo_client.py", ["127.0.0.1", String(server.port), c.certFile, "localhost", "300000", "5"], { timeoutMs: 35_000 });
      let exited = false;
      void proc.exited.then(() => { exited = true; });
      await runUntil(map, mode.usePoll, () => exited, 35_000);
      const r = await proc.exited;
      assert.equal(r.code, 0, `${r.stderr}; the server's channels ended with ${server.ended.map((e) => String(e.error)).join(", ")}`);
      assert.deepEqual(r.stdout.trimEnd().split("\n"), [1, 2, 3, 4, 5].map((i) => `client ${i}: 300000 bytes echoed TLSv1.3`));
      assert.deepEqual(server.ended.map((e) => e.error), [null, null, null, null, null]);
    });

    test("our client against a Python asyncore + ssl server (handshake by hand): 300 kB echoed", { timeout: 40_000, skip: pythonSkip }, async () => {
      const c = certs().localhost;
      const proc = startPython("asyncore_tls_echo_server.py", [c.certFile, c.keyFile], { timeoutMs: 35_000 });
      const port = Number((await proc.waitFor(/^(\d+)$/m, "stdout"))[1]);
      const map: SocketMap = new Map();
      const payload = crypto.randomBytes(300_000);
      const client = new EchoClient(new TLSContext({ ca: c.cert }), port, map, payload, "localhost");
      await runUntil(map, mode.usePoll, () => client.ended !== null, 30_000);
      assert.equal(client.ended!.error, null, String(client.ended!.error));
      assert.ok(client.ended!.received.equals(payload));
      const r = await proc.exited;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trimEnd().split("\n").pop(), "echoed 300000 TLSv1.3");
    });
  });
}
