// asyncore chat-client: a line client on AsyncChat (examples/chat-client.ts); stdin lines are
// sent, received lines are printed.
import readline from "node:readline";
import { loop } from "../index.js";
import { ChatClient } from "../../examples/chat-client.js";
import { describeError } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { type Command, CommandError, HOST_PORT, hostAndPort, parse } from "./usage.js";

export const chatClient: Command = {
  name: "chat-client",
  summary: "connect to a line server: send stdin's lines, print the lines received",
  help: `Usage: asyncore chat-client [--host HOST] [--port PORT]

Connects to a line-based server (such as 'asyncore chat-server'), sends every line read from
stdin and prints every line received on stdout. At the end of stdin (Ctrl-D) it shuts the
connection down for writing once everything read has been sent, and goes on printing what
arrives until the server closes. A refused connection is reported in one line on stderr, with
exit code 1. SIGINT (Ctrl-C) stops it with exit code 130, SIGTERM with 143.

Options:
  --host HOST   server address or name (default 127.0.0.1)
  --port PORT   server port (default 8080)
  -h, --help    show this help
`,
  async run(args) {
    const { values } = parse("chat-client", {
      args,
      options: {
        ...HOST_PORT,
      },
    });
    const [host, port] = hostAndPort("chat-client", values);
    const signals = closeAllOnSignals("client");
    const client = new ChatClient([host, port]);
    client.print = (line) => process.stdout.write(`${line}\n`);
    // stdin is read by Node's own loop while loop() waits: each line is pushed as it comes.
    const input = readline.createInterface({ input: process.stdin, terminal: false });
    input.on("line", (line) => { if (client.fileno() !== null) client.say(line); });
    input.on("close", () => { if (client.fileno() !== null) client.endOutput(); });
    await loop();
    signals.stop();
    input.close();
    process.stdin.destroy();
    if (signals.exitCode !== null) return signals.exitCode;
    if (client.error !== null) throw new CommandError(`${host}:${port}: ${describeError(client.error)}`);
    return 0;
  },
};
