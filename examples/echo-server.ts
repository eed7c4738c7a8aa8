// The echo server of the asyncore documentation.
//
// A listening Dispatcher accepts connections and hands each one to an EchoHandler, a
// DispatcherWithSend that sends back whatever it reads. It prints one line per connection:
//
//   Incoming connection from 127.0.0.1:53462
//
// Run it:      node dist/examples/echo-server.js [HOST] [PORT]        (localhost 8080)
//              (or: npx asyncore echo-server --port 8080)
// Talk to it:  node dist/examples/echo-client.js localhost 8080 hello
//
// The documentation's server reads 8192 bytes at a time with Nagle's algorithm on, so every
// reply over 8 KiB waited ~40 ms for the client's delayed ACK. Dispatcher switches Nagle off
// (TCP_NODELAY) on the sockets it accepts and connects (its `tcpNoDelay` field), so this one
// does not wait.
//
// Under TLS (asyncore/tls): give the server a TLSContext with a certificate (its `tls` field, or
// `asyncore echo-server --tls-cert cert.pem --tls-key key.pem`); each connection then handshakes
// first, and one whose handshake fails is reported in one line and closed, the others go on.
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, type Address, Dispatcher, DispatcherWithSend, type Socket, type SocketMap, loop } from "../src/index.js";
import { type TLSContext, withTLS } from "../src/tls.js";

/** Sends back what it reads. DispatcherWithSend.send() queues what the kernel does not take at once. */
export class EchoHandler extends DispatcherWithSend {
  /** Where a connection closed for being idle is reported (the server's print). */
  print: ((line: string) => void) | null = null;

  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }

  /** Idle for idleTimeout seconds: one line, then closed (the default handleTimeout()). */
  override handleTimeout(): void {
    this.print?.(`Idle connection from ${this.addr === null ? "?" : formatAddress(this.addr)} closed after ${this.idleTimeout} s`);
    super.handleTimeout();
  }
}

/** An EchoHandler under TLS: it echoes once the handshake is done; a failed one is one line. */
export class TLSEchoHandler extends withTLS(EchoHandler) {
  override handleError(err: unknown): void {
    const why = this.closeError ?? (err instanceof Error ? err : new Error(String(err)));
    this.print?.(`TLS connection from ${this.addr === null ? "?" : formatAddress(this.addr)} failed: ${why.message}`);
    this.close();
  }

  override handleClose(): void {
    // A handshake cut by the peer, or a session that ended without close_notify: said, then closed.
    if (this.closeError !== null && (this.closeError as { code?: unknown }).code !== "ECONNRESET") this.handleError(this.closeError);
    else super.handleClose();
  }
}

/** Listens on host:port (port 0: any free port) and gives every connection its own EchoHandler. */
export class EchoServer extends Dispatcher {
  /** The map the server and its handlers live in (undefined: the global socketMap). */
  readonly map: SocketMap | undefined;
  /** Where the "Incoming connection" lines go (Python's print). */
  print: (line: string) => void = (line) => console.log(line);
  /** The idle timeout (seconds) each connection gets; null: none. */
  connectionIdleTimeout: number | null = null;
  /** A context with a certificate: every connection is served under TLS (null: plain TCP). */
  tls: TLSContext | null = null;

  /**
   * `backlog` is the documentation's 5 by default: enough for a demonstration, but a burst of
   * more clients than that overflows the kernel's queue and the extra ones retry a second later.
   * A server that expects bursts passes more (the command line uses SOMAXCONN).
   */
  constructor(host: string, port: number, map?: SocketMap, backlog = 5) {
    super(null, map);
    this.map = map;
    this.createSocket(net.isIPv6(host) ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(backlog);
  }

  /** The address actually bound (with the real port when it was 0). */
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    this.print(`Incoming connection from ${formatAddress(addr)}`);
    const handler = this.tls === null ? new EchoHandler(sock, this.map) : new TLSEchoHandler(sock, this.map);
    if (handler instanceof TLSEchoHandler) handler.wrap(this.tls!, { serverSide: true });
    handler.print = this.print;
    handler.idleTimeout = this.connectionIdleTimeout;
  }
}

/**
 * The same server as older tutorials write it: handleAccept() calls accept() itself. accept()
 * returns null when the connection went away before it was taken (EAGAIN, ECONNABORTED), so the
 * result must be checked before it is used.
 */
export class OldStyleEchoServer extends EchoServer {
  override handleAccept(): void {
    const pair = this.accept();
    if (pair === null) return;
    const [sock, addr] = pair;
    this.print(`Incoming connection from ${formatAddress(addr)}`);
    new EchoHandler(sock, this.map);
  }
}

/** "127.0.0.1:5000", "[::1]:5000", or a Unix socket's path. */
export function formatAddress(addr: Address): string {
  if (typeof addr === "string") return addr;
  return addr[0].includes(":") ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "localhost", port = "8080"] = process.argv.slice(2);
  const server = new EchoServer(host, Number(port));
  console.error(`echo server listening on ${formatAddress(server.address)}`);
  await loop();
}
