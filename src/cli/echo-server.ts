// asyncore echo-server: the documentation's echo server (examples/echo-server.ts).
import { SOMAXCONN } from "../index.js";
import { EchoServer } from "../../examples/echo-server.js";
import { serve } from "./listen.js";
import { type Command, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse } from "./usage.js";

export const echoServer: Command = {
  name: "echo-server",
  summary: "run the echo server: every connection gets back what it sends",
  help: `Usage: asyncore echo-server [--host HOST] [--port PORT] [--idle-timeout SECONDS]

Runs the echo server of the asyncore documentation: it accepts connections and sends back
whatever each one sends. It prints "echo-server listening on HOST:PORT" on stderr once it
listens, and "Incoming connection from HOST:PORT" on stdout for every connection. A client
that half-closes still gets back everything it sent; one that sends without reading is held
back once 1 MiB waits for it. At the descriptor limit accepting pauses (one line on stderr)
and resumes when descriptors free up. SIGINT (Ctrl-C) closes every connection and exits with
code 130, SIGTERM with code 0.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --idle-timeout SECONDS   close a connection that has read and written nothing for SECONDS
                           (and print "Idle connection from HOST:PORT closed after SECONDS s");
                           default: never
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("echo-server", { args, options: { ...HOST_PORT, ...IDLE_TIMEOUT } });
    const [host, port] = hostAndPort("echo-server", values);
    const idle = idleTimeout("echo-server", values);
    return serve("echo-server", host, port, (h, p) => {
      const server = new EchoServer(h, p, undefined, SOMAXCONN);
      server.connectionIdleTimeout = idle;
      return server;
    });
  },
};
