// asyncore echo-server: the documentation's echo server (examples/echo-server.ts).
import { SOMAXCONN } from "../index.js";
import { EchoServer } from "../../examples/echo-server.js";
import { serve } from "./listen.js";
import { SERVER_TLS, SERVER_TLS_HELP, serverTls } from "./tls-options.js";
import { type Command, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse } from "./usage.js";

export const echoServer: Command = {
  name: "echo-server",
  summary: "run the echo server: every connection gets back what it sends (TLS optional)",
  help: `Usage: asyncore echo-server [--host HOST] [--port PORT] [--idle-timeout SECONDS]
                            [--tls-cert FILE --tls-key FILE]

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

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --idle-timeout SECONDS   close a connection that has read and written nothing for SECONDS
                           (and print "Idle connection from HOST:PORT closed after SECONDS s");
                           default: never
${SERVER_TLS_HELP}
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("echo-server", { args, options: { ...HOST_PORT, ...IDLE_TIMEOUT, ...SERVER_TLS } });
    const [host, port] = hostAndPort("echo-server", values);
    const idle = idleTimeout("echo-server", values);
    const tls = serverTls("echo-server", values);
    return serve("echo-server", host, port, (h, p) => {
      const server = new EchoServer(h, p, undefined, SOMAXCONN);
      server.connectionIdleTimeout = idle;
      server.tls = tls;
      return server;
    });
  },
};
