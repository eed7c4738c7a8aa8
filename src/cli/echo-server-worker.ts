// One worker of `asyncore echo-server --workers N` (started by runWorkers() in workers.ts): an
// echo server with SO_REUSEPORT on the shared port, in this thread's own loop.
import { SOMAXCONN, type Socket, type Address } from "../index.js";
import { EchoServer } from "../../examples/echo-server.js";
import { listenError } from "./listen.js";
import { batchedLines } from "./report.js";
import { serverTls } from "./tls-options.js";
import { serveInWorker, setReusePort, workerContext } from "./workers.js";

/** What echo-server hands its workers. */
export interface EchoWorkerData {
  host: string;
  port: number;
  idleTimeout: number | null;
  tlsCert: string | undefined;
  tlsKey: string | undefined;
}

/** An EchoServer that shares its port (SO_REUSEPORT before bind) and counts its connections. */
class SharedEchoServer extends EchoServer {
  connections = 0;

  override setReuseAddr(): void {
    super.setReuseAddr();
    setReusePort(this);
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    this.connections++;
    super.handleAccepted(sock, addr);
  }
}

const { index, data } = workerContext<EchoWorkerData>();
let server: SharedEchoServer | null = null;
await serveInWorker(
  "echo-server",
  data.port,
  (port) => {
    const s = new SharedEchoServer(data.host, port, undefined, SOMAXCONN);
    s.connectionIdleTimeout = data.idleTimeout;
    s.print = batchedLines();
    s.tls = serverTls("echo-server", { "tls-cert": data.tlsCert, "tls-key": data.tlsKey });
    return (server = s);
  },
  (err, port) => listenError(data.host, port, err).message,
  () => (server === null ? null : `echo-server worker ${index + 1}: ${server.connections} connection${server.connections === 1 ? "" : "s"}`),
);
