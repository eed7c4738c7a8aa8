// asyncore http-get URL: the documentation's HTTP client (examples/http-client.ts). The body goes
// to stdout as raw bytes while it arrives; --include writes the status line and headers first.
// An https:// URL goes over TLS, verified unless --insecure (--ca FILE: what to trust).
import { closeAll, loop } from "../index.js";
import { HTTPClient, parseHttpUrl } from "../../examples/http-client.js";
import { describeError } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { CLIENT_TLS, clientTls, clientTlsHelp } from "./tls-options.js";
import { type Command, CommandError, UsageError, parse, parseCount } from "./usage.js";

/** Writes the response to stdout as it comes, once the status says it is a success. */
class StdoutHTTPClient extends HTTPClient {
  include = false;

  override handleResponse(): void {
    if (!this.ok) {
      this.close();  // the command reports the status; the error page's body is not wanted
      return;
    }
    if (this.include) process.stdout.write(this.rawHead!);
  }

  override handleBody(chunk: Buffer): void {
    process.stdout.write(chunk);
  }
}

export const httpGet: Command = {
  name: "http-get",
  summary: "fetch an http:// or https:// URL with HTTP/1.0 and write the body to stdout",
  help: `Usage: asyncore http-get URL [--include] [--timeout SECONDS] [--ca FILE | --insecure]

Runs the HTTP client of the asyncore documentation: sends "GET path HTTP/1.0" with a Host
header to the URL's host and port (default 80, 443 for https) and writes the response body to
stdout, byte for byte: never more than its Content-Length, and a chunked body without its
framing. An https:// URL is fetched over TLS (1.2 at least): the server's certificate must be
signed by a trusted certificate (the system's, or --ca FILE's) and name the URL's host. A status
other than 2xx, a refused connection, an unknown host, a certificate that fails verification
("certificate verify failed: self-signed certificate"), a failed handshake, a body cut short (a
reset, a close before Content-Length or the last chunk, a TLS stream cut without close_notify
where the length was not known) or the --timeout is reported in one line on stderr, with exit
code 1. SIGINT (Ctrl-C) stops it with exit code 130, SIGTERM with 143.

Options:
  -i, --include            write the status line and the headers before the body
  --timeout SECONDS        give up when the whole request (connecting, the TLS handshake,
                           sending, the complete response) is not done within SECONDS
                           (default 30, at most 86400)
${clientTlsHelp("the server")}
  -h, --help               show this help
`,
  async run(args) {
    const { values, positionals } = parse("http-get", {
      args,
      options: {
        include: { type: "boolean", short: "i", default: false },
        timeout: { type: "string", default: "30" },
        ...CLIENT_TLS,
      },
      allowPositionals: true,
    });
    if (positionals.length === 0) throw new UsageError("missing URL", "http-get");
    if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, "http-get");
    const url = positionals[0]!;
    try {
      parseHttpUrl(url);
    } catch (err) {
      throw new UsageError((err as Error).message, "http-get");
    }
    const timeout = parseCount("http-get", "--timeout", values.timeout!, 1, 86400);
    const tls = clientTls("http-get", values, parseHttpUrl(url).secure, "https:// URLs");

    const signals = closeAllOnSignals("client");
    const client = new StdoutHTTPClient(url, undefined, tls ?? undefined);
    client.include = values.include!;
    const where = `${client.target.host}:${client.target.port}`;
    // A reader that goes away (| head) ends the download quietly, as SIGPIPE ends other tools.
    const onStdoutError = (err: Error & { code?: string }): void => {
      if (err.code !== "EPIPE") throw err;
      closeAll(undefined, true);
    };
    process.stdout.on("error", onStdoutError);
    // Node's timers run while loop() waits: the whole request (connecting, sending, the complete
    // response) must be done within --timeout seconds, or it is given up.
    let timedOut: string | null = null;
    const timer = setTimeout(() => {
      if (client.fileno() === null) return;
      timedOut = client.established
        ? `no complete response from ${where} within ${timeout} s (${client.progress()} read)`
        : `cannot connect to ${where}: no connection within ${timeout} s`;
      client.close();
    }, timeout * 1000);
    await loop();
    clearTimeout(timer);
    signals.stop();

    if (signals.exitCode !== null) {
      if (client.status !== 0 && !client.complete) process.stderr.write(`asyncore: http-get: interrupted (${client.progress()} read)\n`);
      return signals.exitCode;
    }
    if (timedOut !== null) throw new CommandError(timedOut);
    if (client.error !== null) {
      const verb = client.established ? "error reading from" : "cannot connect to";
      throw new CommandError(`${verb} ${where}: ${describeError(client.error)}`);
    }
    if (!client.ok) {
      const location = client.header("location");
      throw new CommandError(`HTTP ${client.status} ${client.reason}${location ? ` (Location: ${location})` : ""}`.trimEnd());
    }
    return 0;
  },
};
