// examples/tls-echo-server.ts and examples/tls-echo-client.ts: in-process, and as commands.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { SocketMap } from "../src/loop.js";
import { TLSContext } from "../src/tls.js";
import { TLSEchoClient } from "../examples/tls-echo-client.js";
import { TLSEchoServer } from "../examples/tls-echo-server.js";
import { start, stopAll } from "./helpers/cli-process.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;
const examples = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../examples");

after(() => stopAll());

describe("TLS echo examples", { skip }, () => {
  test("in one map: two clients echoed, a client expecting another name refused", { timeout: 20_000 }, async () => {
    const c = certs().localhost;
    const map: SocketMap = new Map();
    const server = new TLSEchoServer(new TLSContext({ cert: c.cert, key: c.key }), "127.0.0.1", 0, map);
    const lines: string[] = [];
    server.print = (l) => lines.push(l);
    const port = server.address[1] as number;
    const ctx = new TLSContext({ ca: c.cert });
    const clients = ["hello", "world"].map((m, i) => new TLSEchoClient(["localhost", port], ctx, Buffer.from(m), map, `c${i + 1}`));
    const wrong = new TLSEchoClient(["127.0.0.1", port], new TLSContext({ ca: certs().other.cert }), Buffer.from("x"), map, "bad");
    for (const cl of [...clients, wrong]) cl.print = () => {};
    await runUntil(map, false, () => clients.every((cl) => cl.complete) && wrong.fileno() === null && lines.length >= 3);
    assert.deepEqual(clients.map((cl) => Buffer.concat(cl.chunks).toString()), ["hello", "world"]);
    assert.equal((wrong.closeError as { code?: string } | null)?.code, "ERR_TLS_CERT_VERIFY");
    assert.equal(lines.filter((l) => l.startsWith("secure connection from 127.0.0.1:")).length, 2);
  });

  test("as commands: the server, and the client with the certificate as its CA", { timeout: 30_000 }, async () => {
    const c = certs().localhost;
    const server = start(process.execPath, [path.join(examples, "tls-echo-server.js"), c.certFile, c.keyFile, "127.0.0.1", "0"], { timeoutMs: 25_000 });
    const port = (await server.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]!;
    const client = start(process.execPath, [path.join(examples, "tls-echo-client.js"), "localhost", port, c.certFile, "hello"], { timeoutMs: 20_000 });
    const r = await client.exited;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, "c1 recv 5: hello\n");
    const refused = await start(process.execPath, [path.join(examples, "tls-echo-client.js"), "localhost", port, "system", "x"], { timeoutMs: 20_000 }).exited;
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^c1: TLS certificate verification failed: certificate verify failed: self[- ]signed certificate/);
    await server.stop("SIGTERM");
  });
});
