// asyncore echo-client: the tutorial's echo client (examples/echo-client.ts), --count clients in
// a map of their own, each sending --message and reading it back.
import { type SocketMap, loop } from "../index.js";
import { EchoClient } from "../../examples/echo-client.js";
import { describeError } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { type Command, CommandError, HOST_PORT, hostAndPort, parse, parseCount } from "./usage.js";

export const echoClient: Command = {
  name: "echo-client",
  summary: "send a message to an echo server and print what comes back",
  help: `Usage: asyncore echo-client [--host HOST] [--port PORT] [--message TEXT] [--count N]

Runs the echo client of the asyncore tutorial: N clients (one connection each, all in one map
of their own) each send TEXT and print every read that comes back, as "cN recv BYTES: TEXT".
Each client closes once it has read back all it sent; the command exits 0 when all of them
did, and 1 (with one line on stderr) when a connection failed or closed early. SIGINT (Ctrl-C)
stops it with exit code 130, SIGTERM with 143.

Options:
  --host HOST      server address or name (default 127.0.0.1)
  --port PORT      server port (default 8080)
  --message TEXT   what each client sends (default "hello")
  --count N        how many messages to send, one per client (default 1, at most 1000)
  -h, --help       show this help
`,
  async run(args) {
    const { values } = parse("echo-client", {
      args,
      options: {
        ...HOST_PORT,
        message: { type: "string", default: "hello" },
        count: { type: "string", default: "1" },
      } as const,
    });
    const [host, port] = hostAndPort("echo-client", values);
    const count = parseCount("echo-client", "--count", values.count!, 1, 1000);
    const message = Buffer.from(values.message!);
    const map: SocketMap = new Map();
    const signals = closeAllOnSignals("client", map);
    const clients: EchoClient[] = [];
    for (let i = 1; i <= count; i++) clients.push(new EchoClient([host, port], message, map, `c${i}`));
    await loop({ map, timeout: 1 });
    signals.stop();
    if (signals.exitCode !== null) return signals.exitCode;
    const failed = clients.find((c) => !c.complete);
    if (failed === undefined) return 0;
    const why = failed.error !== null
      ? describeError(failed.error)
      : failed.closeError !== null
        ? `${describeError(failed.closeError)} after ${failed.received} of ${failed.expected} bytes`
        : `the server closed the connection after ${failed.received} of ${failed.expected} bytes`;
    throw new CommandError(`${failed.name}: ${host}:${port}: ${why}`);
  },
};
