// asyncore chat-server: the line-based chat server on AsyncChat (examples/chat-server.ts).
import { ChatServer } from "../../examples/chat-server.js";
import { serve } from "./listen.js";
import { type Command, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse } from "./usage.js";

export const chatServer: Command = {
  name: "chat-server",
  summary: "run a line-based chat server: each line goes to every other client",
  help: `Usage: asyncore chat-server [--host HOST] [--port PORT] [--idle-timeout SECONDS]

Runs a chat server built on AsyncChat: every line ("\\n"-terminated) a client sends is passed
on to all the other clients as "<HOST:PORT> line". A client that sends more than 64 KiB without
a newline is disconnected, and so is one that stops reading while 1000 lines wait for it (one
"HOST:PORT is not reading: disconnected" line). It prints "chat-server listening on HOST:PORT"
on stderr once it listens, and a line on stdout when a client joins or leaves. SIGINT closes
every connection and exits with code 130, SIGTERM with code 0. Talk to it with
'asyncore chat-client' or nc.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --idle-timeout SECONDS   disconnect a client that has sent and received nothing for SECONDS
                           ("HOST:PORT idle for SECONDS s: disconnected"); default: never
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("chat-server", { args, options: { ...HOST_PORT, ...IDLE_TIMEOUT } });
    const [host, port] = hostAndPort("chat-server", values);
    const idle = idleTimeout("chat-server", values);
    return serve("chat-server", host, port, (h, p) => {
      const server = new ChatServer(h, p);
      server.connectionIdleTimeout = idle;
      return server;
    });
  },
};
