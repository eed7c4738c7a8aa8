// asyncore chat-server: the line-based chat server on AsyncChat (examples/chat-server.ts).
import { loop } from "../index.js";
import { ChatServer } from "../../examples/chat-server.js";
import { bindableHost, listenError } from "./listen.js";
import { formatAddress } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { type Command, parse, parseHost, parsePort } from "./usage.js";

export const chatServer: Command = {
  name: "chat-server",
  summary: "run a line-based chat server: each line goes to every other client",
  help: `Usage: asyncore chat-server [--host HOST] [--port PORT]

Runs a chat server built on AsyncChat: every line ("\\n"-terminated) a client sends is passed
on to all the other clients as "<HOST:PORT> line". A client that sends more than 64 KiB without
a newline is disconnected. It prints "chat-server listening on HOST:PORT" on stderr once it
listens, and a line on stdout when a client joins or leaves. SIGINT or SIGTERM closes every
connection and exits with code 0. Talk to it with 'asyncore chat-client' or nc.

Options:
  --host HOST   address to listen on (default 127.0.0.1)
  --port PORT   port to listen on, 0 for any free port (default 8080)
  -h, --help    show this help
`,
  async run(args) {
    const { values } = parse("chat-server", {
      args,
      options: {
        host: { type: "string", default: "127.0.0.1" },
        port: { type: "string", default: "8080" },
      },
    });
    const host = parseHost("chat-server", "--host", values.host!);
    const port = parsePort("chat-server", "--port", values.port!);
    const address = await bindableHost(host);
    let server: ChatServer;
    try {
      server = new ChatServer(address, port);
    } catch (err) {
      throw listenError(host, port, err);
    }
    const stop = closeAllOnSignals();
    process.stderr.write(`chat-server listening on ${formatAddress(server.address)}\n`);
    await loop();
    stop();
    return 0;
  },
};
