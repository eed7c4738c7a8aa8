// asyncore smtp-server: an SMTP server that prints or files what it receives (examples/smtp-server.ts).
// The server's modules are loaded when the command runs, not when `asyncore` starts: every other
// command (and --help) starts with no more files open, which matters under a low `ulimit -n`.
import { serve } from "./listen.js";
import { describeError } from "./report.js";
import { type Command, CommandError, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse, parseCount } from "./usage.js";

/** smtpd's message limit: DATA_SIZE_DEFAULT of src/smtp/channel.ts, repeated so that --help loads no server code. */
const DATA_SIZE_DEFAULT = 33554432;

export const smtpServer: Command = {
  name: "smtp-server",
  summary: "run an SMTP server that prints a line per message or files it in a maildir",
  help: `Usage: asyncore smtp-server [--host HOST] [--port PORT] [--maildir DIR] [--max-size BYTES]
                            [--idle-timeout SECONDS]

Runs an SMTP server (the behaviour of Python's smtpd, on AsyncChat): HELO/EHLO (SIZE, 8BITMIME,
PIPELINING), MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT, VRFY and HELP. It accepts every message
for every recipient and relays nothing. For each message it prints one line on stdout,
"message from HOST:PORT: <FROM> -> <TO>, <TO>, SIZE bytes"; with --maildir it also writes the
message (with "\\n" line ends) to DIR/tmp/ and renames it into DIR/new/, and the line ends with
", saved as new/NAME". A message that cannot be saved is answered 451 (try again later). It
prints "smtp-server listening on HOST:PORT" on stderr once it listens. SIGINT closes every
connection and exits with code 130, SIGTERM with code 0.

Options:
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8025)
  --maildir DIR            file each message in the maildir DIR (made if missing)
  --max-size BYTES         the largest message, advertised as SIZE; larger ones get 552
                           (default ${DATA_SIZE_DEFAULT}, 32 MiB; 0: no limit)
  --idle-timeout SECONDS   close a session silent for SECONDS with a 421 reply (default 300)
  -h, --help               show this help
`,
  async run(args) {
    const { Maildir, printOrDeliver } = await import("../../examples/smtp-server.js");
    const { SmtpServer } = await import("../smtp/server.js");
    const { values } = parse("smtp-server", {
      args,
      options: { ...HOST_PORT, port: { type: "string", default: "8025" }, maildir: { type: "string" }, "max-size": { type: "string" }, ...IDLE_TIMEOUT },
    });
    const [host, port] = hostAndPort("smtp-server", values);
    const idle = idleTimeout("smtp-server", values) ?? 300;
    const maxText = values["max-size"];
    const limit = maxText === undefined ? DATA_SIZE_DEFAULT : parseCount("smtp-server", "--max-size", maxText, 0, Number.MAX_SAFE_INTEGER);
    let maildir: InstanceType<typeof Maildir> | null = null;
    if (values.maildir !== undefined) {
      try {
        maildir = new Maildir(values.maildir);
      } catch (err) {
        throw new CommandError(`cannot use ${values.maildir} as a maildir: ${describeError(err)}`);
      }
    }
    const onMessage = printOrDeliver((line) => process.stdout.write(`${line}\n`), maildir);
    return serve("smtp-server", host, port, (h, p) => new SmtpServer([h, p], { onMessage, dataSizeLimit: limit, idleTimeout: idle }));
  },
};
