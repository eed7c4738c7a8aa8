// One worker of `asyncore http-server --workers N` (started by runWorkers() in workers.ts): a
// file server with SO_REUSEPORT on the shared port, in this thread's own loop.
import { HttpServer } from "../../examples/http-server.js";
import { listenError } from "./listen.js";
import { serveInWorker, setReusePort, workerContext } from "./workers.js";

/** What http-server hands its workers. */
export interface HttpWorkerData {
  root: string;
  host: string;
  port: number;
  idleTimeout: number;
  maxHeaderBytes: number;
  log: boolean;
}

/** An HttpServer that shares its port (SO_REUSEPORT before bind). */
class SharedHttpServer extends HttpServer {
  override setReuseAddr(): void {
    super.setReuseAddr();
    setReusePort(this);
  }
}

const { data } = workerContext<HttpWorkerData>();
await serveInWorker(
  "http-server",
  data.port,
  (port) => {
    const s = new SharedHttpServer(data.root, data.host, port);
    s.connectionIdleTimeout = data.idleTimeout;
    s.options.maxHeaderBytes = data.maxHeaderBytes;
    if (data.log) s.options.log = (line) => process.stdout.write(`${line}\n`);
    return s;
  },
  (err, port) => listenError(data.host, port, err).message,
);
