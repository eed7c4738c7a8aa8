// `--workers N` for the server commands (echo-server; any server with a listener can use it):
// runWorkers() on the main thread, serveInWorker() in each worker. docs/multicore.md has the pattern.
//
// Each worker_thread loads its own copy of the library (the addon is per-thread), runs its own
// loop() and its own listening Dispatcher with SO_REUSEPORT on one shared port, and the kernel
// spreads new connections across the listeners. The first worker binds the port asked for (0:
// any free port) and says which port it got; the others then bind that port, so port 0 still
// gives one port. SIGINT/SIGTERM reach the main thread only: it tells every worker to close all
// its channels, and resolves once all have ended, with the exit code the command has without
// workers (src/cli/signals.ts).
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { type Address, type Dispatcher, SOL_SOCKET, SO_REUSEPORT, type Socket, closeAll, loop, wake } from "../index.js";
import { describeError, logToStderr } from "./report.js";
import { signalExitCode } from "./signals.js";
import { CommandError } from "./usage.js";

/** What each worker gets as workerData. */
export interface WorkerContext<T = unknown> {
  /** 0 for the first worker, which binds first. */
  index: number;
  count: number;
  /** The shared port to bind (null for the first worker: it binds the port it was asked for). */
  port: number | null;
  /** The command's own data (runWorkers' `data`). */
  data: T;
}

/** Worker → main thread. */
type FromWorker =
  | { type: "listening"; address: Address }
  | { type: "failed"; message: string }
  | { type: "report"; line: string };
/** Main thread → worker. */
interface StopMessage { type: "stop" }

export interface RunWorkersOptions {
  /** How many worker threads (1 or more). */
  count: number;
  /** The worker's module: it calls serveInWorker(). */
  entry: URL;
  /** Passed to every worker (structured-cloned) as WorkerContext.data. */
  data: unknown;
  /** Default true: SIGINT/SIGTERM stop every worker, and the result is the signal's exit code (130 / 0). */
  signalExit?: boolean;
  /** Called once every worker listens, with the shared address. */
  onListening?: (address: Address) => void;
  /** Aborting it stops every worker (the result is then 0). */
  signal?: AbortSignal;
}

/**
 * Starts `count` workers running `entry`, the first one alone until it listens; resolves with the
 * exit code once all have ended (after a signal: its exit code). A worker that cannot listen (a
 * port in use) or ends on its own stops the others, and the promise rejects with a CommandError
 * that says which worker and why.
 */
export async function runWorkers(opts: RunWorkersOptions): Promise<number> {
  const { count, entry, data } = opts;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a whole number from 1, got ${count}`);
  const workers: Worker[] = [];
  const exits: Promise<void>[] = [];
  let stopping = false;
  let received: "SIGINT" | "SIGTERM" | null = null;
  let failure: Error | null = null;

  const stopAll = (): void => {
    if (stopping) return;
    stopping = true;
    for (const w of workers) w.postMessage({ type: "stop" } satisfies StopMessage);
    // A worker that does not end soon after (a handler that holds it) is ended for it.
    setTimeout(() => { for (const w of workers) void w.terminate(); }, 2000).unref();
  };
  const onSignal = (sig: "SIGINT" | "SIGTERM"): void => {
    received ??= sig;
    stopAll();
  };
  const fail = (err: Error): void => {
    failure ??= err;
    stopAll();
  };

  const start = (index: number, port: number | null): Promise<Address> => {
    const context: WorkerContext = { index, count, port, data };
    const worker = new Worker(entry, { workerData: context });
    workers.push(worker);
    let listening: ((address: Address) => void) | null = null;
    let failedStart: ((err: Error) => void) | null = null;
    const ready = new Promise<Address>((resolve, reject) => {
      listening = resolve;
      failedStart = reject;
    });
    ready.catch(() => {});  // the failure is also reported through `failure`
    worker.on("message", (msg: FromWorker) => {
      if (msg.type === "listening") listening!(msg.address);
      else if (msg.type === "report") process.stderr.write(`${msg.line}\n`);
      else {
        const err = new CommandError(msg.message);
        failedStart!(err);
        fail(err);
      }
    });
    worker.on("error", (err) => {
      const e = new CommandError(`worker ${index + 1} failed: ${describeError(err)}`);
      failedStart!(e);
      fail(e);
    });
    exits.push(new Promise((resolve) => {
      worker.once("exit", (code) => {
        const e = new CommandError(`worker ${index + 1} ended on its own (exit code ${code})`);
        failedStart!(e);  // a worker stopped (or terminated) before it listened: nothing waits for it
        if (!stopping) fail(e);
        resolve();
      });
    }));
    return ready;
  };

  const watchSignals = opts.signalExit !== false;
  if (watchSignals) {
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  const onAbort = (): void => stopAll();
  opts.signal?.addEventListener("abort", onAbort);
  try {
    if (opts.signal?.aborted !== true) {
      try {
        const first = await start(0, null);
        const port = (first as readonly [string, number])[1];
        const others: Promise<Address>[] = [];
        for (let i = 1; i < count && !stopping; i++) others.push(start(i, port));
        await Promise.all(others);
        if (!stopping) opts.onListening?.(first);
      } catch (err) {
        // Already reported through fail(), or a worker that ended because everything is stopping.
        if (!stopping) fail(err instanceof Error ? err : new Error(String(err)));
      }
    }
    await Promise.all(exits);
  } finally {
    if (watchSignals) {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    }
    opts.signal?.removeEventListener("abort", onAbort);
  }
  if (failure !== null && received === null) throw failure;
  return received === null ? 0 : signalExitCode(received, "server");
}

/** Sets SO_REUSEPORT on a dispatcher's socket (before bind()): several listeners may share a port. */
export function setReusePort(dispatcher: Dispatcher): void {
  if (SO_REUSEPORT < 0) throw new Error("SO_REUSEPORT is not available on this platform: --workers needs it");
  (dispatcher.socket as Socket).setsockopt(SOL_SOCKET, SO_REUSEPORT, 1);
}

/** The WorkerContext of this worker thread (throws on the main thread). */
export function workerContext<T>(): WorkerContext<T> {
  if (isMainThread || parentPort === null) throw new Error("workerContext() runs in a worker started by runWorkers()");
  return workerData as WorkerContext<T>;
}

/**
 * A worker's life: `make(port)` binds its listener (port: the shared one, or for the first worker
 * `ownPort`); "listening" goes to the main thread (or the failure, as one line: `describeBindError`);
 * the loop serves until the main thread says stop; then `report()`'s line, if any, goes to stderr.
 */
export async function serveInWorker(
  command: string,
  ownPort: number,
  make: (port: number) => { address: Address },
  describeBindError: (err: unknown, port: number) => string,
  report?: () => string | null,
): Promise<void> {
  const ctx = workerContext();
  const port = parentPort!;
  const post = (msg: FromWorker): void => port.postMessage(msg);
  logToStderr(command);
  const bindPort = ctx.port ?? ownPort;
  let server: { address: Address };
  try {
    server = make(bindPort);
  } catch (err) {
    post({ type: "failed", message: describeBindError(err, bindPort) });
    return;
  }
  port.on("message", (msg: StopMessage) => {
    if (msg.type === "stop") {
      closeAll(undefined, true);
      wake();
    }
  });
  port.unref();  // the loop keeps the worker alive, not the port
  post({ type: "listening", address: server.address });
  await loop();
  const line = report?.() ?? null;
  if (line !== null) post({ type: "report", line });
}
