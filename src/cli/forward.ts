// asyncore forward: the tutorial's port forwarder (examples/port-forwarder.ts); without TLS, on
// Linux, its connections relay with splice(2) (src/splice-relay.ts).
import { SOMAXCONN, loop } from "../index.js";
import { Forwarder } from "../../examples/port-forwarder.js";
import { SpliceForwarder, spliceAvailable } from "../splice-relay.js";
import { bindableHost, listenError } from "./listen.js";
import { formatAddress } from "./report.js";
import { closeAllOnSignals } from "./signals.js";
import { CLIENT_TLS, SERVER_TLS, SERVER_TLS_HELP, clientTls, clientTlsHelp, serverTls } from "./tls-options.js";
import { type Command, IDLE_TIMEOUT, UsageError, idleTimeout, parse, parseHost, parsePort } from "./usage.js";

export const forward: Command = {
  name: "forward",
  summary: "forward every connection on a local port to a remote address (TLS optional)",
  help: `Usage: asyncore forward -r REMOTE_IP [-P REMOTE_PORT] [-l LOCAL_IP] [-p LOCAL_PORT]
                        [--idle-timeout SECONDS] [--tls-cert FILE --tls-key FILE]
                        [--remote-tls [--ca FILE | --insecure]] [--no-splice]

Runs the port forwarder of the asyncore tutorial: every connection made to LOCAL_IP:LOCAL_PORT
is joined to a new connection to REMOTE_IP:REMOTE_PORT, and data flows both ways. When one
side ends its stream (a FIN), what is still buffered for the other side is delivered before
that side is shut down, and at most 256 KiB is buffered each way. When one side is reset (or
fails), the other side is reset too (SO_LINGER 0), so that its peer cannot take a cut stream
for a complete one, and one line says so on stderr. When no descriptor is left for the remote
connection (EMFILE...), the client's connection waits and accepting pauses until descriptors
free up (one line per burst).

Without TLS, on Linux, the bytes go from one socket to the other through a kernel pipe
(splice(2)) and never enter the forwarder's memory. A direction holds a pipe (two descriptors,
at most the 256 KiB bound) only while it has bytes in flight, and copies meanwhile when no
descriptor is left for one. --no-splice copies through user space (recv and send) instead, as
the forwarder always does under TLS and elsewhere than on Linux.

TLS: with --tls-cert and --tls-key, clients connect under TLS and the forwarder terminates it in
front of a plain service; with --remote-tls, the connections to the remote are made under TLS
(the remote's certificate verified against REMOTE_IP as a name, unless --insecure). Either or
both. An end of stream is passed on as close_notify then a FIN; a reset is passed on without
close_notify. A failed handshake on either side closes that forwarded connection with one line
on stderr (e.g. "connection to HOST:PORT: TLS certificate verification failed: certificate verify
failed: self-signed certificate"); the others go on.

It prints "forward listening on LOCAL_IP:PORT, forwarding to REMOTE_IP:REMOTE_PORT" on stderr
once it listens, and one line on stderr for each connection that fails. SIGINT closes everything and exits with code 130, SIGTERM with code 0.

Options:
  -l, --local-ip IP        address to listen on (default 127.0.0.1)
  -p, --local-port PORT    port to listen on, 0 for any free port (default 80)
  -r, --remote-ip HOST     address or name to forward to (required)
  -P, --remote-port PORT   port to forward to (default 80)
  --idle-timeout SECONDS   reset both sides of a connection when one side has read and
                           written nothing for SECONDS (one line on stderr); default: never
${SERVER_TLS_HELP}
  --remote-tls             connect to the remote under TLS
${clientTlsHelp("the remote")}
  --no-splice              copy through user space even where splice(2) can relay
  -h, --help               show this help
`,
  async run(args) {
    const { values } = parse("forward", {
      args,
      options: {
        "local-ip": { type: "string", short: "l", default: "127.0.0.1" },
        "local-port": { type: "string", short: "p", default: "80" },
        "remote-ip": { type: "string", short: "r" },
        "remote-port": { type: "string", short: "P", default: "80" },
        ...IDLE_TIMEOUT,
        ...SERVER_TLS,
        "remote-tls": { type: "boolean", default: false },
        ...CLIENT_TLS,
        "no-splice": { type: "boolean", default: false },
      },
    });
    const localIp = parseHost("forward", "--local-ip", values["local-ip"]!);
    const localPort = parsePort("forward", "--local-port", values["local-port"]!);
    if (values["remote-ip"] === undefined) throw new UsageError("missing -r/--remote-ip (where to forward to)", "forward");
    const remoteIp = parseHost("forward", "--remote-ip", values["remote-ip"]);
    const remotePort = parsePort("forward", "--remote-port", values["remote-port"]!);
    const idle = idleTimeout("forward", values);
    const tls = serverTls("forward", values);
    const remoteTls = clientTls("forward", values, values["remote-tls"]!, "--remote-tls");
    const address = await bindableHost(localIp);
    let forwarder: Forwarder;
    try {
      const splice = spliceAvailable && tls === null && remoteTls === null && !values["no-splice"]!;
      forwarder = new (splice ? SpliceForwarder : Forwarder)(address, localPort, remoteIp, remotePort, SOMAXCONN);
    } catch (err) {
      throw listenError(localIp, localPort, err, "-p");
    }
    forwarder.report = (line) => process.stderr.write(`asyncore: forward: ${line}\n`);
    forwarder.connectionIdleTimeout = idle;
    forwarder.tls = tls;
    forwarder.remoteTls = remoteTls;
    const signals = closeAllOnSignals("server");
    process.stderr.write(`forward listening on ${formatAddress(forwarder.address)}, forwarding to ${formatAddress([remoteIp, remotePort])}\n`);
    await loop();
    signals.stop();
    return signals.exitCode ?? 0;
  },
};
