// TLS failures end the channel that has them with a clear error (closeError, a stable code) and
// never hang; the server's other connections go on.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import crypto from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { binding } from "../src/native.js";
import type { SocketMap } from "../src/loop.js";
import { TLSContext } from "../src/tls.js";
import { POLLERS } from "./helpers/pollers.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { EchoClient, EchoServer } from "./helpers/tls-echo.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;

function serverContext(): TLSContext {
  const c = certs().localhost;
  return new TLSContext({ cert: c.cert, key: c.key });
}

/** A raw TCP peer that sends `bytes` to the port and ends; resolves when the connection is closed. */
function rawClient(port: number, bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = net.connect(port, "127.0.0.1", () => s.end(bytes));
    s.on("data", (d: Buffer) => chunks.push(d));
    s.on("error", () => {});
    s.on("close", () => resolve(Buffer.concat(chunks)));
  });
}

/** A raw TCP server that runs `onConnection` for its one connection. */
function rawServer(onConnection: (s: net.Socket) => void): Promise<{ port: number; close: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((s) => {
    sockets.push(s);
    s.on("error", () => {});
    onConnection(s);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({
    port: (server.address() as net.AddressInfo).port,
    close: () => { for (const s of sockets) s.destroy(); server.close(); },
  })));
}

for (const mode of POLLERS) {
  describe(`TLS failures, ${mode.name}`, { skip }, () => {
    async function clientError(port: number, ctx: TLSContext, serverName?: string): Promise<EchoClient> {
      const map: SocketMap = new Map();
      const client = new EchoClient(ctx, port, map, Buffer.from("x"), serverName);
      await runUntil(map, mode.usePoll, () => client.ended !== null);
      return client;
    }

    test("wrong host name: ERR_TLS_CERT_VERIFY (Hostname mismatch); the next good client is served", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const server = new EchoServer(serverContext(), map);
      const cctx = new TLSContext({ ca: certs().localhost.cert });
      const bad = new EchoClient(cctx, server.port, map, Buffer.from("x"), "wrong.example");
      await runUntil(map, mode.usePoll, () => bad.ended !== null && server.ended.length === 1);
      const err = bad.ended!.error as Error & { code?: string; verifyError?: string };
      assert.equal(err.code, "ERR_TLS_CERT_VERIFY");
      assert.match(err.verifyError ?? "", /Hostname mismatch/i);
      assert.match(err.message, /certificate verif/);
      assert.ok(server.ended[0]!.error !== null, "the server's channel closed with an error too (the client's alert)");
    });

    test("a self-signed certificate without trust (system store): ERR_TLS_CERT_VERIFY", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const server = new EchoServer(serverContext(), map);
      const bad = new EchoClient(new TLSContext(), server.port, map, Buffer.from("x"), "localhost");
      const good = new EchoClient(new TLSContext({ ca: certs().localhost.cert }), server.port, map, Buffer.from("fine"), "localhost");
      await runUntil(map, mode.usePoll, () => bad.ended !== null && good.ended !== null);
      const err = bad.ended!.error as Error & { code?: string; verifyError?: string };
      assert.equal(err.code, "ERR_TLS_CERT_VERIFY");
      assert.match(err.verifyError ?? "", /self[- ]signed/);
      assert.equal(good.ended!.error, null);
      assert.equal(good.ended!.received.toString(), "fine");
    });

    test("no protocol version in common (TLS 1.3 only against TLS 1.2 only): ERR_TLS_HANDSHAKE on both ends", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const c = certs().localhost;
      const server = new EchoServer(new TLSContext({ cert: c.cert, key: c.key, minVersion: "TLSv1.3" }), map);
      const client = new EchoClient(new TLSContext({ ca: c.cert, maxVersion: "TLSv1.2" }), server.port, map, Buffer.from("x"), "localhost");
      await runUntil(map, mode.usePoll, () => client.ended !== null && server.ended.length === 1);
      assert.equal((client.ended!.error as { code?: string }).code, "ERR_TLS_HANDSHAKE");
      assert.equal((server.ended[0]!.error as { code?: string }).code, "ERR_TLS_HANDSHAKE");
      assert.match(server.ended[0]!.error!.message, /protocol/);
    });

    test("an expired certificate, though trusted: ERR_TLS_CERT_VERIFY (certificate has expired)", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const e = certs().expired;
      const server = new EchoServer(new TLSContext({ cert: e.cert, key: e.key }), map);
      const client = new EchoClient(new TLSContext({ ca: e.cert }), server.port, map, Buffer.from("x"), "localhost");
      await runUntil(map, mode.usePoll, () => client.ended !== null);
      const err = client.ended!.error as Error & { code?: string; verifyError?: string };
      assert.equal(err.code, "ERR_TLS_CERT_VERIFY");
      assert.match(err.verifyError ?? "", /expired/);
    });

    test("an address as the server name is checked against the certificate's IP entries", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const server = new EchoServer(serverContext(), map);
      const client = new EchoClient(new TLSContext({ ca: certs().localhost.cert }), server.port, map, Buffer.from("by address"));
      await runUntil(map, mode.usePoll, () => client.ended !== null);
      assert.equal(client.ended!.error, null);
      assert.equal(client.ended!.received.toString(), "by address");
    });

    for (const [what, bytes] of [
      ["a plain TCP client (HTTP) to the TLS port", Buffer.from("GET / HTTP/1.0\r\nHost: x\r\n\r\n")],
      ["a peer closing before its hello", Buffer.alloc(0)],
      ["a peer closing mid-hello (half a ClientHello)", Buffer.from("16030100c8010000c40303", "hex")],
      ["a peer sending garbage", crypto.randomBytes(2000)],
    ] as const) {
      test(`server side, ${what}: ERR_TLS_HANDSHAKE, no hang`, { timeout: 20_000 }, async () => {
        const map: SocketMap = new Map();
        const server = new EchoServer(serverContext(), map);
        let closed = false;
        void rawClient(server.port, bytes).then(() => { closed = true; });
        await runUntil(map, mode.usePoll, () => server.ended.length === 1 && closed);
        const err = server.ended[0]!.error as Error & { code?: string };
        assert.ok(err !== null);
        assert.ok(["ERR_TLS_HANDSHAKE", "ECONNRESET"].includes(err.code!), `${err.code}: ${err.message}`);
      });
    }

    test("client side, a server sending garbage: ERR_TLS_HANDSHAKE", { timeout: 20_000 }, async () => {
      const peer = await rawServer((s) => s.end(crypto.randomBytes(3000)));
      try {
        const client = await clientError(peer.port, new TLSContext({ ca: certs().localhost.cert }), "localhost");
        assert.equal((client.ended!.error as { code?: string }).code, "ERR_TLS_HANDSHAKE");
      } finally {
        peer.close();
      }
    });

    test("client side, a server closing mid-handshake: a handshake error or a reset", { timeout: 20_000 }, async () => {
      const peer = await rawServer((s) => s.once("data", () => s.destroy()));
      try {
        const client = await clientError(peer.port, new TLSContext({ ca: certs().localhost.cert }), "localhost");
        const code = (client.ended!.error as { code?: string }).code!;
        assert.ok(["ERR_TLS_HANDSHAKE", "ECONNRESET"].includes(code), code);
      } finally {
        peer.close();
      }
    });

    test("a truncated stream (no close_notify): the data, then ERR_TLS_TRUNCATED", { timeout: 20_000 }, async () => {
      const c = certs().localhost;
      const secureContext = tls.createSecureContext({ cert: c.cert, key: c.key });
      const peer = await rawServer((raw) => {
        const t = new tls.TLSSocket(raw, { isServer: true, secureContext });
        t.on("error", () => {});
        t.once("data", () => t.write("the first half", () => setTimeout(() => raw.destroy(), 50)));
      });
      try {
        const map: SocketMap = new Map();
        const client = new EchoClient(new TLSContext({ ca: c.cert }), peer.port, map, Buffer.alloc(1000, 0x61), "localhost");
        await runUntil(map, mode.usePoll, () => client.ended !== null);
        assert.equal(client.ended!.received.toString(), "the first half");
        const err = client.ended!.error as Error & { code?: string };
        assert.equal(err.code, "ERR_TLS_TRUNCATED", err.message);
      } finally {
        peer.close();
      }
    });
  });
}

describe("TLS configuration and bad input", { skip }, () => {
  test("a bad PEM text is ERR_TLS_CONFIG with OpenSSL's reason; unknown options are TypeErrors", () => {
    assert.throws(() => new TLSContext({ cert: "not a pem", key: "nor this" }), (e: Error & { code?: string }) => e.code === "ERR_TLS_CONFIG" && /certificate/.test(e.message));
    assert.throws(() => new TLSContext({ cert: certs().localhost.cert, key: certs().other.key }), { code: "ERR_TLS_CONFIG" });
    assert.throws(() => new TLSContext({ ca: "-----BEGIN NOTHING-----" }), { code: "ERR_TLS_CONFIG" });
    assert.throws(() => new TLSContext({ ciphers: "NO-SUCH-CIPHER" }), { code: "ERR_TLS_CONFIG" });
    assert.throws(() => new TLSContext({ bogus: 1 } as never), TypeError);
    assert.throws(() => new TLSContext({ minVersion: "SSLv3" as never }), RangeError);
    assert.throws(() => new TLSContext({ alpn: [""] }), RangeError);
    assert.throws(() => new TLSContext({ cert: certs().localhost.cert }), TypeError);
  });

  test("an encrypted key: the passphrase opens it; a wrong or missing one is ERR_TLS_CONFIG, never a prompt", { timeout: 20_000 }, () => {
    const c = certs().localhost;
    const encrypted = execFileSync("openssl", ["pkey", "-in", c.keyFile, "-aes256", "-passout", "pass:open sesame"], { encoding: "latin1" });
    new TLSContext({ cert: c.cert, key: encrypted, passphrase: "open sesame" }).close();
    assert.throws(() => new TLSContext({ cert: c.cert, key: encrypted, passphrase: "wrong" }), { code: "ERR_TLS_CONFIG" });
    assert.throws(() => new TLSContext({ cert: c.cert, key: encrypted }), { code: "ERR_TLS_CONFIG" });
  });

  test("the native classes validate every argument (TypeError/RangeError, never an abort) and close twice", () => {
    const { Context, Connection } = binding.tls;
    const ctx = new Context();
    assert.throws(() => new Connection({} as never, 0, false, null, 0), TypeError);
    assert.throws(() => new Connection(ctx, -1, false, null, 0), RangeError);
    assert.throws(() => new Connection(ctx, 0, "yes" as never, null, 0), TypeError);
    assert.throws(() => new Connection(ctx, 0, false, 5 as never, 0), TypeError);
    assert.throws(() => new Connection(ctx, 0, false, null, 9), RangeError);
    assert.throws(() => ctx.setVersions(0x200, 0), RangeError);
    assert.throws(() => ctx.setALPN(Buffer.from([5, 0x61])), RangeError);
    assert.throws(() => ctx.setCertificate(1 as never, "", null), TypeError);
    const conn = new Connection(ctx, 0, false, "localhost", 0);
    assert.throws(() => conn.read(Buffer.alloc(4), 2, 3), RangeError);
    assert.throws(() => conn.write("text" as never, 0, 1), TypeError);
    conn.close();
    conn.close();
    assert.equal(conn.handshake(), binding.tls.constants.CLOSED);
    assert.equal(conn.info(), null);
    ctx.close();
    ctx.close();
    assert.throws(() => new Connection(ctx, 0, false, null, 0), /closed/);
    assert.throws(() => ctx.addCA(""), /closed/);
  });
});
