// runWorkers() (src/cli/workers.ts) in-process: the shared port, a stop by AbortSignal, and the
// failures it must report instead of hanging: a worker that throws, one that ends on its own,
// one that cannot bind. Worker modules are data: URLs importing the compiled library.
import { test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { pathToFileURL } from "node:url";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Address } from "../src/index.js";
import { runWorkers } from "../src/cli/workers.js";

const dist = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const lib = (file: string): string => pathToFileURL(path.join(dist, file)).href;
const echoWorker = new URL(lib("src/cli/echo-server-worker.js"));
const echoData = { host: "127.0.0.1", port: 0, idleTimeout: null, tlsCert: undefined, tlsKey: undefined };

function moduleUrl(code: string): URL {
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

test("3 workers on port 0 share one port; aborting the signal stops them all and resolves 0", { timeout: 20_000 }, async () => {
  const controller = new AbortController();
  let address: Address | null = null;
  const sigints = process.listenerCount("SIGINT");
  const done = runWorkers({
    count: 3, entry: echoWorker, data: echoData, signalExit: false, signal: controller.signal,
    onListening: (a) => {
      address = a;
      const sock = net.connect({ host: "127.0.0.1", port: (a as readonly [string, number])[1] }, () => sock.end("x"));
      sock.on("data", () => {}).on("close", () => controller.abort());
    },
  });
  assert.equal(process.listenerCount("SIGINT"), sigints, "signalExit: false installs no signal handler");
  assert.equal(await done, 0);
  assert.ok(address !== null && (address as readonly [string, number])[1] > 0);
});

test("a worker that throws: rejected with the worker's number and the error, the others stopped", { timeout: 20_000 }, async () => {
  const entry = moduleUrl(`
    import { workerContext } from ${JSON.stringify(lib("src/cli/workers.js"))};
    const ctx = workerContext();
    if (ctx.index === 1) throw new Error("broken worker");
    await import(${JSON.stringify(lib("src/cli/echo-server-worker.js"))});
  `);
  await assert.rejects(runWorkers({ count: 2, entry, data: echoData, signalExit: false }), /^CommandError: worker 2 failed: broken worker$/);
});

test("a worker that ends on its own: rejected, the others stopped", { timeout: 20_000 }, async () => {
  const entry = moduleUrl(`
    import { serveInWorker, setReusePort } from ${JSON.stringify(lib("src/cli/workers.js"))};
    import { Dispatcher } from ${JSON.stringify(lib("src/index.js"))};
    await serveInWorker("test", 0, (port) => {
      const d = new Dispatcher();
      d.createSocket();
      setReusePort(d);
      d.bind(["127.0.0.1", port]);
      d.listen(5);
      setTimeout(() => d.close(), 50);  // its loop then ends, with no stop asked
      return { address: d.socket.getsockname() };
    }, (err) => String(err));
  `);
  await assert.rejects(runWorkers({ count: 2, entry, data: null, signalExit: false }), /^CommandError: worker \d ended on its own \(exit code 0\)$/);
});

test("a port in use: rejected with the bind error, no worker left", { timeout: 20_000 }, async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  const port = (busy.address() as net.AddressInfo).port;
  try {
    await assert.rejects(runWorkers({ count: 2, entry: echoWorker, data: { ...echoData, port }, signalExit: false }),
      new RegExp(`^CommandError: cannot listen on 127\\.0\\.0\\.1:${port}: address already in use \\(EADDRINUSE\\)$`));
  } finally {
    busy.close();
  }
});

test("count must be a whole number from 1", async () => {
  await assert.rejects(runWorkers({ count: 0, entry: echoWorker, data: null }), RangeError);
});
