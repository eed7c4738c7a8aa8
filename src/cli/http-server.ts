// asyncore http-server: the static file server on AsyncChat (examples/http-server.ts).
// The server's modules are loaded when the command runs: `asyncore --help` and the other commands
// start without them (a process at a low descriptor limit opens fewer files while it loads).
import type { HttpWorkerData } from "./http-server-worker.js";
import { bindableHost, serve } from "./listen.js";
import { describeError, formatAddress } from "./report.js";
import { type Command, CommandError, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse, parseCount } from "./usage.js";

const DEFAULT_IDLE_SECONDS = 60;

export const httpServer: Command = {
  name: "http-server",
  summary: "serve the files of a directory over HTTP/1.1 (keep-alive, pipelining, HEAD, 304)",
  help: `Usage: asyncore http-server [--root DIR] [--host HOST] [--port PORT] [--idle-timeout SECONDS]
                            [--max-header-bytes N] [--log] [--workers N]

Serves the files under DIR over HTTP/1.1, built on AsyncChat. GET and HEAD; keep-alive (the
HTTP/1.1 default, and HTTP/1.0 with "Connection: keep-alive") and pipelined requests, answered
in order; Content-Length, Content-Type by extension, Last-Modified and 304 Not Modified for
If-Modified-Since. A directory serves its index.html (a path to it without the final "/" is
redirected there, 301). Large files are sent a chunk at a time as the client reads them, never
read whole. Paths are confined to DIR: ".." or a NUL in the path is 400, a symbolic link that
leads out of DIR is 404. Other methods get 405, a request with a body 413, a request head over
the bound 431, a malformed request 400. It prints "http-server listening on HOST:PORT" on stderr
once it listens. SIGINT closes every connection and exits with code 130, SIGTERM with code 0.
With --workers N (N > 1) the server runs in N threads, each with its own loop and its own
listener on the shared port (SO_REUSEPORT: the kernel spreads connections across them); it says
"http-server listening on HOST:PORT (N workers)", and a signal stops every worker.

Options:
  --root DIR               the directory to serve (default: the current directory)
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --idle-timeout SECONDS   close a connection that has read and written nothing for SECONDS
                           (between requests, or a client that stops reading); default 60
  --max-header-bytes N     the largest request head (request line and header fields) in bytes,
                           from 256 to 1048576 (default 16384, as Node's http); larger ones get 431
  --log                    print one line per answer on stdout: "HOST:PORT METHOD TARGET STATUS BYTES"
  --workers N              serve with N threads sharing the port (default 1, at most 256)
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("http-server", {
      args,
      options: { ...HOST_PORT, ...IDLE_TIMEOUT, root: { type: "string", default: "." }, "max-header-bytes": { type: "string" }, log: { type: "boolean" },
        workers: { type: "string", default: "1" } },
    });
    const [host, port] = hostAndPort("http-server", values);
    // Unlike the other servers, a default: an HTTP client keeps idle connections open on speculation.
    const idle = idleTimeout("http-server", values) ?? DEFAULT_IDLE_SECONDS;
    const maxHeader = values["max-header-bytes"];
    const maxHeaderOption = maxHeader === undefined ? null : parseCount("http-server", "--max-header-bytes", maxHeader, 256, 1024 * 1024);
    const workers = parseCount("http-server", "--workers", values.workers!, 1, 256);
    const root = values.root!;
    const { DEFAULT_MAX_HEADER_BYTES, HttpServer } = await import("../../examples/http-server.js");
    const { realRoot } = await import("../http/files.js");
    const maxHeaderBytes = maxHeaderOption ?? DEFAULT_MAX_HEADER_BYTES;
    try {
      realRoot(root);
    } catch (err) {
      throw new CommandError(`cannot serve ${root}: ${describeError(err)}`);
    }
    if (workers > 1) {
      const data: HttpWorkerData = { root, host: await bindableHost(host), port, idleTimeout: idle, maxHeaderBytes, log: values.log === true };
      const { runWorkers } = await import("./workers.js");
      return runWorkers({
        count: workers,
        entry: new URL("./http-server-worker.js", import.meta.url),
        data,
        onListening: (address) => process.stderr.write(`http-server listening on ${formatAddress(address)} (${workers} workers)\n`),
      });
    }
    return serve("http-server", host, port, (h, p) => {
      const server = new HttpServer(root, h, p);
      server.connectionIdleTimeout = idle;
      server.options.maxHeaderBytes = maxHeaderBytes;
      if (values.log === true) server.options.log = (line) => process.stdout.write(`${line}\n`);
      return server;
    });
  },
};
