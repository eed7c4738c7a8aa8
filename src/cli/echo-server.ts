// asyncore echo-server: the documentation's echo server (examples/echo-server.ts).
import { SOMAXCONN, loop } from "../index.js";
import { EchoServer } from "../../examples/echo-server.js";
import { bindableHost, listenError } from "./listen.js";
import { formatAddress } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { type Command, parse, parseHost, parsePort } from "./usage.js";

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
    const { values } = parse("echo-server", {
      args,
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "8080" },
      },
    });
    const host = parseHost("echo-server", "--host", values.host!);
    const port = parsePort("echo-server", "--port", values.port!);
    const address = await bindableHost(host);
    let server: EchoServer;
    try {
      server = new EchoServer(address, port, undefined, SOMAXCONN);
    } catch (err) {
      throw listenError(host, port, err);
    }
    const stop = closeAllOnSignals();
    process.stderr.write(`echo-server listening on ${formatAddress(server.address)}\n`);
    await loop();
    stop();
    return 0;
  },
};
