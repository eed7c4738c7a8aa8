// asyncore udp-echo and udp-echo-client: the UDP echo server and client (examples/udp-echo*.ts).
// Registered in main.ts; the tests drive them with Python's socket module and with each other.
// The examples are imported when a command runs, not when `asyncore` starts: every other command
// (and one started under a low descriptor limit) loads no more modules than before.
import { type SocketMap, loop } from "../index.js";
import type { UdpEchoServer } from "../../examples/udp-echo.js";
import type { UdpEchoClient } from "../../examples/udp-echo-client.js";
import { serve } from "./listen.js";
import { describeError } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { type Command, CommandError, HOST_PORT, UsageError, hostAndPort, parse, parseCount, parseSeconds } from "./usage.js";

export const udpEcho: Command = {
  name: "udp-echo",
  summary: "run the UDP echo server: every datagram goes back to its sender",
  help: `Usage: asyncore udp-echo [--host HOST] [--port PORT] [--max-datagram BYTES]

Runs a UDP echo server: every datagram (0 bytes to the largest UDP datagram: 65,507 bytes over
IPv4, 65,527 over IPv6) goes back to its sender unchanged. It prints "udp-echo listening on
HOST:PORT" on stderr once bound. A datagram longer than --max-datagram is not echoed cut short:
it is dropped with one line on stderr. Answers the kernel cannot send at once wait in a queue
(at most 1 MiB); while it is full no more requests are read. SIGINT (Ctrl-C) exits with code
130, SIGTERM with code 0; either way "udp-echo: N datagrams (B bytes) echoed" goes to stderr.

Options:
  --host HOST            address to bind (default 127.0.0.1; ::1 or :: for IPv6)
  --port PORT            UDP port, 0 for any free port (default 8080)
  --max-datagram BYTES   the longest datagram echoed, 0 to 65527 (default 65527)
  -h, --help             show this help
`,
  async run(args) {
    const { values } = parse("udp-echo", { args, options: { ...HOST_PORT, "max-datagram": { type: "string", default: "65527" } } as const });
    const [host, port] = hostAndPort("udp-echo", values);
    const max = parseCount("udp-echo", "--max-datagram", values["max-datagram"]!, 0, 65527);
    const { UdpEchoServer } = await import("../../examples/udp-echo.js");
    let server: UdpEchoServer | null = null;
    const code = await serve("udp-echo", host, port, (h, p) => (server = new UdpEchoServer(h, p, undefined, max)));
    const s = server as UdpEchoServer | null;
    if (s !== null) process.stderr.write(`udp-echo: ${s.datagrams} datagram${s.datagrams === 1 ? "" : "s"} (${s.bytes} bytes) echoed\n`);
    return code;
  },
};

// Printable bytes for --sizes datagrams, so that short ones read well when printed.
const PATTERN = Buffer.from("abcdefghijklmnopqrstuvwxyz0123456789");

function patterned(size: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = PATTERN[(i + seed) % PATTERN.length]!;
  return b;
}

export const udpEchoClient: Command = {
  name: "udp-echo-client",
  summary: "send datagrams to a UDP echo server and check that each comes back",
  help: `Usage: asyncore udp-echo-client [--host HOST] [--port PORT] [--sizes N,N,...]
                                [--timeout SECONDS] [--retries N] [MESSAGE...]

Sends each MESSAGE (default "hello"), or with --sizes one datagram of each size (printable
bytes), one at a time, and checks that each comes back byte for byte; prints "recv BYTES: TEXT"
per answer (long ones cut in the print only). A datagram without an answer within --timeout is
sent again, up to --retries times. Exits 0 when every datagram came back, 1 (one line on stderr)
when one did not, came back different, or the port refused it; SIGINT 130, SIGTERM 143.

Options:
  --host HOST           server address or name (default 127.0.0.1)
  --port PORT           server port (default 8080)
  --sizes N,N,...       datagram sizes in bytes, 0 to 65527, instead of MESSAGEs
  --timeout SECONDS     wait for an answer this long before sending again (default 1)
  --retries N           send a datagram again at most N times (default 3)
  -h, --help            show this help
`,
  async run(args) {
    const { values, positionals } = parse("udp-echo-client", {
      args,
      allowPositionals: true,
      options: {
        ...HOST_PORT,
        sizes: { type: "string" },
        timeout: { type: "string", default: "1" },
        retries: { type: "string", default: "3" },
      } as const,
    });
    const [host, port] = hostAndPort("udp-echo-client", values);
    const timeout = parseSeconds("udp-echo-client", "--timeout", values.timeout!);
    const retries = parseCount("udp-echo-client", "--retries", values.retries!, 0, 100);
    if (values.sizes !== undefined && positionals.length > 0) throw new UsageError("give MESSAGEs or --sizes, not both", "udp-echo-client");
    const messages = values.sizes !== undefined
      ? values.sizes.split(",").map((t, i) => patterned(parseCount("udp-echo-client", "--sizes", t.trim(), 0, 65527), i))
      : (positionals.length > 0 ? positionals : ["hello"]).map((m) => Buffer.from(m));
    const { UdpEchoClient } = await import("../../examples/udp-echo-client.js");
    const map: SocketMap = new Map();
    const signals = closeAllOnSignals("client", map);
    let client: UdpEchoClient;
    try {
      client = new UdpEchoClient([host, port], messages, map, { timeout, retries });
    } catch (err) {
      signals.stop();
      throw new CommandError(`${host}:${port}: ${describeError(err)}`);
    }
    await loop({ map, timeout: 1 });
    signals.stop();
    if (signals.exitCode !== null) return signals.exitCode;
    if (client.error !== null) throw new CommandError(`${host}:${port}: ${describeError(client.error)}`);
    return 0;
  },
};
