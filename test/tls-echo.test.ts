// TLS channels against each other over loopback: bytes, versions, ALPN, many connections, and a
// peer that writes 1-byte TCP segments. Both pass styles (and both backends: npm test runs the
// suite again with ASYNCORE_POLLER=uv).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import net from "node:net";
import type { SocketMap } from "../src/loop.js";
import { TLSContext } from "../src/tls.js";
import { POLLERS } from "./helpers/pollers.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { EchoClient, EchoServer } from "./helpers/tls-echo.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;

function contexts(server: ConstructorParameters<typeof TLSContext>[0] = {}, client: ConstructorParameters<typeof TLSContext>[0] = {}) {
  const c = certs().localhost;
  return { sctx: new TLSContext({ cert: c.cert, key: c.key, ...server }), cctx: new TLSContext({ ca: c.cert, ...client }) };
}

/** A TCP relay that passes every byte on in segments of 1..3 bytes, in both directions. */
function choppingRelay(target: number): Promise<{ port: number; close: () => void }> {
  const sockets = new Set<net.Socket>();
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(target, "127.0.0.1");
    for (const s of [inbound, outbound]) {
      s.setNoDelay(true);
      sockets.add(s);
      s.on("error", () => {});
    }
    const pump = (from: net.Socket, to: net.Socket): void => {
      let queue = Buffer.alloc(0);
      let busy = false;
      const drip = (): void => {
        if (queue.length === 0 || to.destroyed) {
          busy = false;
          if (from.readableEnded && queue.length === 0) to.end();
          return;
        }
        const n = 1 + crypto.randomInt(3);
        to.write(queue.subarray(0, n));
        queue = queue.subarray(n);
        setImmediate(drip);
      };
      from.on("data", (d: Buffer) => {
        queue = Buffer.concat([queue, d]);
        if (!busy) {
          busy = true;
          drip();
        }
      });
      from.on("end", () => {
        if (!busy) to.end();
      });
    };
    pump(inbound, outbound);
    pump(outbound, inbound);
  });
  return new Promise((resolve) => relay.listen(0, "127.0.0.1", () => {
    resolve({ port: (relay.address() as net.AddressInfo).port, close: () => { for (const s of sockets) s.destroy(); relay.close(); } });
  }));
}

for (const mode of POLLERS) {
  describe(`TLS echo, ${mode.name}`, { skip }, () => {
    test("a 300 kB payload comes back byte for byte over TLS 1.3; both ends close cleanly", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const { sctx, cctx } = contexts();
      const server = new EchoServer(sctx, map);
      const payload = crypto.randomBytes(300_000);
      const client = new EchoClient(cctx, server.port, map, payload, "localhost");
      await runUntil(map, mode.usePoll, () => client.ended !== null && server.ended.length === 1);
      assert.equal(client.ended!.error, null);
      assert.ok(client.ended!.received.equals(payload));
      assert.equal(server.ended[0]!.error, null, "the server saw close_notify");
      assert.ok(server.handlers[0]!.secured);
    });

    test("TLS 1.2 (maxVersion) and ALPN: the server's choice among the client's offers", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const { sctx, cctx } = contexts({ alpn: ["h2", "http/1.1"] }, { maxVersion: "TLSv1.2", alpn: ["x-none", "http/1.1"] });
      const server = new EchoServer(sctx, map);
      const client = new EchoClient(cctx, server.port, map, Buffer.from("ping"));
      await runUntil(map, mode.usePoll, () => client.ended !== null);
      assert.equal(client.ended!.error, null);
      assert.equal(client.ended!.received.toString(), "ping");
      assert.equal(client.info!.version, "TLSv1.2");
      assert.equal(client.info!.alpn, "http/1.1");
      assert.equal(client.info!.peerSubject, "/CN=localhost");
    });

    test("no pending() stall: a whole record read 7 bytes at a time, with nothing more from the kernel", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const { sctx, cctx } = contexts();
      const server = new EchoServer(sctx, map);
      server.readSize = 7;
      const payload = crypto.randomBytes(16_000);  // one record: the kernel reports it readable once
      const client = new EchoClient(cctx, server.port, map, payload, "localhost");
      await runUntil(map, mode.usePoll, () => client.ended !== null);
      assert.equal(client.ended!.error, null);
      assert.ok(client.ended!.received.equals(payload));
    });

    test("mutual TLS: a client certificate required; a client without one is refused", { timeout: 20_000 }, async () => {
      const map: SocketMap = new Map();
      const { localhost, other } = certs();
      const sctx = new TLSContext({ cert: localhost.cert, key: localhost.key, verify: true, ca: other.cert });
      const server = new EchoServer(sctx, map);
      const withCert = new EchoClient(new TLSContext({ ca: localhost.cert, cert: other.cert, key: other.key }), server.port, map, Buffer.from("me"), "localhost");
      const without = new EchoClient(new TLSContext({ ca: localhost.cert }), server.port, map, Buffer.from("anon"), "localhost");
      await runUntil(map, mode.usePoll, () => withCert.ended !== null && without.ended !== null && server.ended.length === 2);
      assert.equal(withCert.ended!.error, null);
      assert.equal(withCert.ended!.received.toString(), "me");
      assert.ok(without.ended!.error !== null, "the client without a certificate was refused");
      const refused = server.ended.map((e) => (e.error as { code?: string } | null)?.code).filter((c) => c !== undefined);
      assert.deepEqual(refused, ["ERR_TLS_HANDSHAKE"]);
      assert.equal(server.handlers.filter((h) => h.secured).length, 1);
    });

    test("1-byte TCP segments both ways (a chopping relay): identical application data", { timeout: 30_000 }, async () => {
      const map: SocketMap = new Map();
      const { sctx, cctx } = contexts();
      const server = new EchoServer(sctx, map);
      const relay = await choppingRelay(server.port);
      try {
        const payload = crypto.randomBytes(20_000);
        const client = new EchoClient(cctx, relay.port, map, payload, "localhost");
        await runUntil(map, mode.usePoll, () => client.ended !== null, 25_000);
        assert.equal(client.ended!.error, null);
        assert.ok(client.ended!.received.equals(payload));
      } finally {
        relay.close();
      }
    });

    test("1,000 concurrent TLS connections to one server, each echoed", { timeout: 60_000 }, async () => {
      const map: SocketMap = new Map();
      const { sctx, cctx } = contexts();
      const server = new EchoServer(sctx, map);
      const clients = Array.from({ length: 1000 }, (_, i) => new EchoClient(cctx, server.port, map, Buffer.from(`client ${i} `.repeat(50)), "localhost"));
      await runUntil(map, mode.usePoll, () => clients.every((c) => c.ended !== null), 50_000);
      for (const c of clients) {
        assert.equal(c.ended!.error, null);
        assert.ok(c.ended!.received.equals(c.payload));
      }
    });
  });
}
