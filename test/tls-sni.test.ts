// SNI on the server side: TLSContext's `sni` picks the certificate by the name the client asks
// for (a table with exact and wildcard names, or a function), against `openssl s_client
// -servername` and our own client; a failing choice fails that handshake only.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { SocketMap } from "../src/loop.js";
import { TLSContext, type TLSContextOptions } from "../src/tls.js";
import { start, stopAll } from "./helpers/cli-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { EchoClient, EchoServer } from "./helpers/tls-echo.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;

after(() => stopAll());

function serverContext(sni: TLSContextOptions["sni"]): TLSContext {
  const { localhost } = certs();
  return new TLSContext({ cert: localhost.cert, key: localhost.key, sni });
}

function otherContext(): TLSContext {
  const { other } = certs();
  return new TLSContext({ cert: other.cert, key: other.key });
}

for (const mode of POLLERS) {
  describe(`TLS server names (SNI), ${mode.name}`, { skip }, () => {
    test("openssl s_client -servername: each name gets its certificate; no name, the default", { timeout: 40_000 }, async () => {
      const map: SocketMap = new Map();
      const server = new EchoServer(serverContext({ "other.example": otherContext() }), map);
      const procs = ["other.example", "OTHER.example", "localhost", null].map((name) => start("openssl",
        ["s_client", "-connect", `127.0.0.1:${server.port}`, ...(name === null ? ["-noservername"] : ["-servername", name])],
        { input: "", timeoutMs: 30_000 }));
      let exited = 0;
      for (const p of procs) void p.exited.then(() => { exited++; });
      await runUntil(map, mode.usePoll, () => exited === procs.length, 30_000);
      const subjects = (await Promise.all(procs.map((p) => p.exited)))
        .map((r) => /^subject=(.*)$/m.exec(r.stdout)?.[1]?.replace(/\s/g, "") ?? `none: ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 200)}`);
      assert.deepEqual(subjects, ["CN=other.example", "CN=other.example", "CN=localhost", "CN=localhost"]);
    });

    test("our client: a wildcard entry and a function; a throwing function fails that handshake, the next is served", { timeout: 30_000 }, async () => {
      const { localhost, other } = certs();
      const map: SocketMap = new Map();
      const wild = new EchoServer(serverContext({ "*.test.example": otherContext() }), map);
      const byName = new EchoClient(new TLSContext({ verify: false }), wild.port, map, Buffer.from("w"), "a.test.example");
      const deeper = new EchoClient(new TLSContext({ verify: false }), wild.port, map, Buffer.from("d"), "a.b.test.example");
      const other2 = otherContext();
      const fn = new EchoServer(serverContext((name) => {
        if (name === "boom.example") throw new Error("no such name");
        return name === "other.example" ? other2 : null;
      }), map);
      const good = new EchoClient(new TLSContext({ ca: other.cert }), fn.port, map, Buffer.from("g"), "other.example");
      const boom = new EchoClient(new TLSContext({ ca: localhost.cert }), fn.port, map, Buffer.from("b"), "boom.example");
      const after = new EchoClient(new TLSContext({ ca: localhost.cert }), fn.port, map, Buffer.from("a"), "localhost");
      const clients = [byName, deeper, good, boom, after];
      await runUntil(map, mode.usePoll, () => clients.every((c) => c.ended !== null));
      assert.equal(byName.info?.peerSubject, "/CN=other.example");
      assert.equal(deeper.info?.peerSubject, "/CN=localhost", "a wildcard covers one label only");
      assert.equal(good.ended!.error, null);
      assert.equal(good.ended!.received.toString(), "g");
      assert.equal(good.info?.peerSubject, "/CN=other.example");
      assert.ok(boom.ended!.error !== null, "the handshake failed");
      assert.equal(boom.info, null);
      assert.equal(after.ended!.error, null);
      assert.equal(after.info?.peerSubject, "/CN=localhost");
    });
  });
}

describe("TLSContext sni option", { skip }, () => {
  test("bad values are TypeErrors", () => {
    const { localhost } = certs();
    const base = { cert: localhost.cert, key: localhost.key };
    assert.throws(() => new TLSContext({ ...base, sni: 5 as never }), TypeError);
    assert.throws(() => new TLSContext({ ...base, sni: { "a.example": {} as never } }), TypeError);
    assert.throws(() => new TLSContext({ ...base, sni: { "a.example": new TLSContext() } }), /no certificate/);
  });
});
