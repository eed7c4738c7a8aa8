// asyncore chat-server: the line-based chat server on AsyncChat (examples/chat-server.ts).
import { ChatServer } from "../../examples/chat-server.js";
import { serve } from "./listen.js";
import { type Command, HOST_PORT, hostAndPort, parse } from "./usage.js";

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
    const { values } = parse("chat-server", { args, options: HOST_PORT });
    const [host, port] = hostAndPort("chat-server", values);
    return serve("chat-server", host, port, (h, p) => new ChatServer(h, p));
  },
};
