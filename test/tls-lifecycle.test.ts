// Native TLS objects and the process's life: sessions left open when a Worker ends, and objects
// never closed (the finalizer frees them), must not crash or throw.
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { runNode } from "./helpers/child-process.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";

const skip = opensslSkipReason() ?? false;
const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const url = (p: string): string => pathToFileURL(path.join(dist, p)).href;

// Starts 20 TLS connections in a map and runs a few passes: handshakes in flight, some done.
const SCRIPT = (certFile: string, keyFile: string): string => `
  import { loop } from ${JSON.stringify(url("src/index.js"))};
  import { TLSContext } from ${JSON.stringify(url("src/tls.js"))};
  import { EchoClient, EchoServer } from ${JSON.stringify(url("test/helpers/tls-echo.js"))};
  const map = new Map();
  const server = new EchoServer(new TLSContext({ certFile: ${JSON.stringify(certFile)}, keyFile: ${JSON.stringify(keyFile)} }), map);
  const cctx = new TLSContext({ caFile: ${JSON.stringify(certFile)} });
  for (let i = 0; i < 20; i++) new EchoClient(cctx, server.port, map, Buffer.alloc(100000, 1), "localhost");
  for (let i = 0; i < 6; i++) await loop({ map, timeout: 0.02, count: 1 });
`;

test("a Worker ending with TLS sessions open (mid-handshake and secure) leaves the process well", { skip, timeout: 30_000 }, async () => {
  const c = certs().localhost;
  const r = await runNode(`
    import { Worker } from "node:worker_threads";
    for (let round = 0; round < 3; round++) {
      const w = new Worker(${JSON.stringify(SCRIPT(c.certFile, c.keyFile))} + "\\nprocess.exit(0);", { eval: true });
      await new Promise((resolve, reject) => { w.on("exit", resolve); w.on("error", reject); });
      const t = new Worker(${JSON.stringify(SCRIPT(c.certFile, c.keyFile))} + "\\nsetInterval(() => {}, 1000);", { eval: true });
      await new Promise((r) => setTimeout(r, 300));
      await t.terminate();
    }
    console.log("main alive");
  `, { timeoutMs: 25_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "main alive\n");
});

test("contexts and connections never closed are freed by the garbage collector", { skip, timeout: 30_000 }, async () => {
  const r = await runNode(`
    import { binding } from ${JSON.stringify(url("src/native.js"))};
    const { Context, Connection } = binding.tls;
    for (let i = 0; i < 2000; i++) {
      const ctx = new Context();
      new Connection(ctx, 0, i % 2 === 0, "localhost", 1);
    }
    globalThis.gc();
    await new Promise((r) => setTimeout(r, 50));
    globalThis.gc();
    console.log("collected");
  `, { nodeFlags: ["--expose-gc"], timeoutMs: 25_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "collected\n");
});

test("after the handshake and after tlsShutdown(), channels keep fast (not dictionary-mode) properties", { skip, timeout: 30_000 }, async () => {
  const c = certs().localhost;
  // The handshake shadows methods with own properties; deleting them would leave every TLS
  // channel a dictionary-mode object, each property access on it a slow lookup.
  const r = await runNode(`
    import { loop } from ${JSON.stringify(url("src/index.js"))};
    import { TLSContext } from ${JSON.stringify(url("src/tls.js"))};
    import { EchoClient, EchoServer } from ${JSON.stringify(url("test/helpers/tls-echo.js"))};
    const map = new Map();
    const server = new EchoServer(new TLSContext({ certFile: ${JSON.stringify(c.certFile)}, keyFile: ${JSON.stringify(c.keyFile)} }), map);
    const client = new EchoClient(new TLSContext({ caFile: ${JSON.stringify(c.certFile)} }), server.port, map, Buffer.alloc(1000, 7), "localhost");
    for (let i = 0; i < 400 && client.received < 1000; i++) await loop({ map, timeout: 0.05, count: 1 });
    const handler = server.handlers[0];
    const fast = [%HasFastProperties(client), %HasFastProperties(handler)];
    handler.tlsShutdown();
    for (let i = 0; i < 400 && map.has(handler._fileno); i++) await loop({ map, timeout: 0.05, count: 1 });
    fast.push(%HasFastProperties(handler), typeof handler.readable, handler.readable === Object.getPrototypeOf(handler).readable);
    console.log(JSON.stringify([client.received, ...fast]));
  `, { nodeFlags: ["--allow-natives-syntax"], timeoutMs: 25_000 });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), [1000, true, true, true, "function", true]);
});
