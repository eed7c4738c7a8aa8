// Every core busy: the echo server in N worker threads, each with its own loop and its own
// listener on one shared port (SO_REUSEPORT), the kernel spreading connections across them.
//
// Run it:      node dist/examples/multicore-echo.js [HOST] [PORT] [WORKERS]     (127.0.0.1 8080, one per core)
//              (or: npx asyncore echo-server --port 8080 --workers 2)
// Talk to it:  node dist/examples/echo-client.js 127.0.0.1 8080 hello
//
// The pattern (docs/multicore.md): this one file is both programs. On the main thread it starts
// the workers: the first alone, so that with port 0 it picks the port, then the others on the
// port it got. In a worker it runs the ordinary single-threaded server, with one difference:
// SO_REUSEPORT is set before bind(). Each worker loads its own copy of the library and of the
// addon; nothing is shared but the port. Ctrl-C (SIGINT) or SIGTERM reaches the main thread only,
// which posts "stop" to every worker; each closes its channels, its loop() ends, and it exits.
import os from "node:os";
import { pathToFileURL } from "node:url";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { type Address, SOL_SOCKET, SO_REUSEPORT, SOMAXCONN, type Socket, closeAll, loop } from "../src/index.js";
import { EchoServer, formatAddress } from "./echo-server.js";

/** An EchoServer whose port other listeners may share. */
export class SharedPortEchoServer extends EchoServer {
  // setReuseAddr() is what the constructor calls between creating the socket and binding it.
  override setReuseAddr(): void {
    super.setReuseAddr();
    (this.socket as Socket).setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
  }
}

interface Job { host: string; port: number; index: number }

/** Starts a worker running this file; resolves with its listener's address. */
function startWorker(job: Job): Promise<[Worker, Address]> {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  return new Promise((resolve, reject) => {
    worker.once("message", (address: Address) => resolve([worker, address]));
    worker.once("error", reject);
  });
}

/** The main thread: `count` workers on host:port; resolves when all have stopped. */
export async function serveOnEveryCore(host: string, port: number, count: number): Promise<void> {
  const [first, address] = await startWorker({ host, port, index: 0 });
  const sharedPort = (address as readonly [string, number])[1];
  const others = await Promise.all(Array.from({ length: count - 1 }, (_, i) => startWorker({ host, port: sharedPort, index: i + 1 })));
  const workers = [first, ...others.map(([w]) => w)];
  console.error(`multicore echo server listening on ${formatAddress(address)} with ${count} workers`);
  const stop = (): void => { for (const w of workers) w.postMessage("stop"); };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await Promise.all(workers.map((w) => new Promise((resolve) => w.once("exit", resolve))));
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
}

/** A worker: the single-threaded server, on the shared port, until the main thread says stop. */
async function runWorker(job: Job): Promise<void> {
  const server = new SharedPortEchoServer(job.host, job.port, undefined, SOMAXCONN);
  server.print = (line) => console.log(`[worker ${job.index + 1}] ${line}`);
  parentPort!.on("message", (msg) => { if (msg === "stop") closeAll(undefined, true); });
  parentPort!.unref();  // the loop keeps the worker alive, not the port
  parentPort!.postMessage(server.address);
  await loop();
}

if (!isMainThread) {
  await runWorker(workerData as Job);
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "127.0.0.1", port = "8080", workers = String(os.availableParallelism())] = process.argv.slice(2);
  await serveOnEveryCore(host, Number(port), Number(workers));
}
