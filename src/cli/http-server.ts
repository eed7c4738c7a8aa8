// asyncore http-server: the static file server on AsyncChat (examples/http-server.ts).
import { DEFAULT_MAX_HEADER_BYTES, HttpServer } from "../../examples/http-server.js";
import { realRoot } from "../http/files.js";
import { serve } from "./listen.js";
import { describeError } from "./report.js";
import { type Command, CommandError, HOST_PORT, IDLE_TIMEOUT, hostAndPort, idleTimeout, parse, parseCount } from "./usage.js";

const DEFAULT_IDLE_SECONDS = 60;

export const httpServer: Command = {
  name: "http-server",
  summary: "serve the files of a directory over HTTP/1.1 (keep-alive, pipelining, HEAD, 304)",
  help: `Usage: asyncore http-server [--root DIR] [--host HOST] [--port PORT] [--idle-timeout SECONDS]
                            [--max-header-bytes N] [--log]

Serves the files under DIR over HTTP/1.1, built on AsyncChat. GET and HEAD; keep-alive (the
HTTP/1.1 default, and HTTP/1.0 with "Connection: keep-alive") and pipelined requests, answered
in order; Content-Length, Content-Type by extension, Last-Modified and 304 Not Modified for
If-Modified-Since. A directory serves its index.html (a path to it without the final "/" is
redirected there, 301). Large files are sent a chunk at a time as the client reads them, never
read whole. Paths are confined to DIR: ".." or a NUL in the path is 400, a symbolic link that
leads out of DIR is 404. Other methods get 405, a request with a body 413, a request head over
the bound 431, a malformed request 400. It prints "http-server listening on HOST:PORT" on stderr
once it listens. SIGINT closes every connection and exits with code 130, SIGTERM with code 0.

Options:
  --root DIR               the directory to serve (default: the current directory)
  --host HOST              address to listen on (default 127.0.0.1)
  --port PORT              port to listen on, 0 for any free port (default 8080)
  --idle-timeout SECONDS   close a connection that has read and written nothing for SECONDS
                           (between requests, or a client that stops reading); default 60
  --max-header-bytes N     the largest request head (request line and header fields) in bytes,
                           from 256 to 1048576 (default ${DEFAULT_MAX_HEADER_BYTES}); larger ones get 431
  --log                    print one line per answer on stdout: "HOST:PORT METHOD TARGET STATUS BYTES"
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("http-server", {
      args,
      options: { ...HOST_PORT, ...IDLE_TIMEOUT, root: { type: "string", default: "." }, "max-header-bytes": { type: "string" }, log: { type: "boolean" } },
    });
    const [host, port] = hostAndPort("http-server", values);
    // Unlike the other servers, a default: an HTTP client keeps idle connections open on speculation.
    const idle = idleTimeout("http-server", values) ?? DEFAULT_IDLE_SECONDS;
    const maxHeader = values["max-header-bytes"];
    const maxHeaderBytes = maxHeader === undefined ? DEFAULT_MAX_HEADER_BYTES : parseCount("http-server", "--max-header-bytes", maxHeader, 256, 1024 * 1024);
    const root = values.root!;
    try {
      realRoot(root);
    } catch (err) {
      throw new CommandError(`cannot serve ${root}: ${describeError(err)}`);
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
