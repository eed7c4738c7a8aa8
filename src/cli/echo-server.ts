// asyncore echo-server: the documentation's echo server (examples/echo-server.ts).
import { SOMAXCONN } from "../index.js";
import { EchoServer } from "../../examples/echo-server.js";
import { serve } from "./listen.js";
import { type Command, HOST_PORT, hostAndPort, parse } from "./usage.js";

export const echoServer: Command = {
  name: "echo-server",
  summary: "run the echo server: every connection gets back what it sends",
  help: `Usage: asyncore echo-server [--host HOST] [--port PORT]

Runs the echo server of the asyncore documentation: it accepts connections and sends back
whatever each one sends. It prints "echo-server listening on HOST:PORT" on stderr once it
listens, and "Incoming connection from HOST:PORT" on stdout for every connection.
SIGINT (Ctrl-C) or SIGTERM closes every connection and exits with code 0.

Options:
  --host HOST   address to listen on (default 127.0.0.1)
  --port PORT   port to listen on, 0 for any free port (default 8080)
  -h, --help    show this help
`,
  async run(args) {
    const { values } = parse("echo-server", { args, options: HOST_PORT });
    const [host, port] = hostAndPort("echo-server", values);
    return serve("echo-server", host, port, (h, p) => new EchoServer(h, p, undefined, SOMAXCONN));
  },
};
