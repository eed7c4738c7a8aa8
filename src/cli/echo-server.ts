// asyncore echo-server: the documentation's echo server (examples/echo-server.ts).
import { SOMAXCONN } from "../index.js";
import { EchoServer } from "../../examples/echo-server.js";
import { bindableHost, serve } from "./listen.js";
import { batchedLines, formatAddress } from "./report.js";
import type { EchoWorkerData } from "./echo-server-worker.js";
import { SERVER_TLS, SERVER_TLS_HELP, serverTls } from "./tls-options.js";
import { type Command, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse, parseCount } from "./usage.js";

export const echoServer: Command = {
  name: "echo-server",
  summary: "run the echo server: every connection gets back what it sends (TLS optional)",
  help: `Usage: asyncore echo-server [--host HOST] [--port PORT] [--idle-timeout SECONDS]
                            [--tls-cert FILE --tls-key FILE] [--workers N]

Runs the echo server of the asyncore documentation: it accepts connections and sends back
whatever each one sends. It prints "echo-server listening on HOST:PORT" on stderr once it
listens, and "Incoming connection from HOST:PORT" on stdout for every connection. A client
that half-closes still gets back everything it sent; one that sends without reading is held
back once 1 MiB waits for it. At the descriptor limit accepting pauses (one line on stderr)
and resumes when descriptors free up. With --tls-cert and --tls-key every connection is served
under TLS (1.2 at least): it is echoed once its handshake is done, and one whose handshake fails
(a plain-TCP client, a client that refuses the certificate) is closed with one line on stdout,
"TLS connection from HOST:PORT failed: REASON"; the others go on. SIGINT (Ctrl-C) closes every
connection and exits with code 130, SIGTERM with code 0. A certificate or key that cannot be
loaded is one line on stderr and exit code 1.

With --workers N (N > 1) the server runs in N threads, each with its own loop and its own
listener on the same port (SO_REUSEPORT: the kernel spreads new connections across them; with
--port 0 the first one picks the port and the others join it). The line on stderr reads
"echo-server listening on HOST:PORT (N workers)"; a signal stops every worker, with the exit
codes above, and each worker then says on stderr how many connections it took, as
"echo-server worker I: C connections".

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --idle-timeout SECONDS   close a connection that has read and written nothing for SECONDS
                           (and print "Idle connection from HOST:PORT closed after SECONDS s");
                           default: never
${SERVER_TLS_HELP}
  --workers N              serve with N threads sharing the port (default 1, at most 256)
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("echo-server", {
      args,
      options: { ...HOST_PORT, ...IDLE_TIMEOUT, ...SERVER_TLS, workers: { type: "string", default: "1" } } as const,
    });
    const [host, port] = hostAndPort("echo-server", values);
    const idle = idleTimeout("echo-server", values);
    const tls = serverTls("echo-server", values);
    const workers = parseCount("echo-server", "--workers", values.workers!, 1, 256);
    if (workers > 1) {
      const { runWorkers } = await import("./workers.js");  // loaded only when used
      const data: EchoWorkerData = { host: await bindableHost(host), port, idleTimeout: idle, tlsCert: values["tls-cert"], tlsKey: values["tls-key"] };
      return runWorkers({
        count: workers,
        entry: new URL("./echo-server-worker.js", import.meta.url),
        data,
        onListening: (address) => process.stderr.write(`echo-server listening on ${formatAddress(address)} (${workers} workers)\n`),
      });
    }
    return serve("echo-server", host, port, (h, p) => {
      const server = new EchoServer(h, p, undefined, SOMAXCONN);
      server.connectionIdleTimeout = idle;
      server.tls = tls;
      server.print = batchedLines();
      return server;
    });
  },
};
