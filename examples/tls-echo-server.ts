// The echo server of the asyncore documentation, under TLS.
//
// Each accepted socket is wrapped server-side (Python: ctx.wrap_socket(sock, server_side=True,
// do_handshake_on_connect=False)); the handshake runs in the loop and handleHandshake() says when
// it is done. A failed handshake (a plain-TCP client, a client refusing the certificate) ends
// that connection only, with closeError saying why.
//
// Make a certificate:  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
//                        -days 30 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
//                        -keyout key.pem -out cert.pem
// Run it:      node dist/examples/tls-echo-server.js cert.pem key.pem [HOST] [PORT]   (localhost 8443)
// Talk to it:  node dist/examples/tls-echo-client.js localhost 8443 cert.pem hello
//              openssl s_client -connect localhost:8443 -CAfile cert.pem -quiet
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, type Address, Dispatcher, type Socket, type SocketMap, loop } from "../src/index.js";
import { TLSContext, TLSDispatcherWithSend } from "../src/tls.js";

/** Sends back what it reads, once the handshake is done. */
export class TLSEchoHandler extends TLSDispatcherWithSend {
  constructor(sock: Socket, context: TLSContext, map: SocketMap | undefined, readonly print: (line: string) => void) {
    super(sock, map);
    this.wrap(context, { serverSide: true });
  }

  override handleHandshake(): void {
    const info = this.tlsInfo()!;
    this.print(`secure connection from ${describe(this.addr)}: ${info.version} ${info.cipher ?? ""}`);
  }

  override handleRead(): void {
    const data = this.recv(16384);
    if (data.length > 0) this.send(data);
  }

  override handleClose(): void {
    if (this.closeError !== null) this.print(`${describe(this.addr)} ended: ${this.closeError.message}`);
    this.close();
  }

  // A handshake failure comes here (closeError is set too): one line, not a traceback.
  override handleError(err: unknown): void {
    this.closeError ??= err instanceof Error ? err : new Error(String(err));
    this.handleClose();
  }
}

export class TLSEchoServer extends Dispatcher {
  readonly map: SocketMap | undefined;
  print: (line: string) => void = (line) => console.log(line);

  constructor(readonly context: TLSContext, host: string, port: number, map?: SocketMap) {
    super(null, map);
    this.map = map;
    this.createSocket(net.isIPv6(host) ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(128);
  }

  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket): void {
    new TLSEchoHandler(sock, this.context, this.map, this.print);
  }
}

function describe(addr: Address | null): string {
  if (addr === null) return "?";
  return typeof addr === "string" ? addr : `${addr[0]}:${addr[1]}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [certFile, keyFile, host = "localhost", port = "8443"] = process.argv.slice(2);
  if (certFile === undefined || keyFile === undefined) {
    console.error("usage: tls-echo-server.js CERT.pem KEY.pem [HOST] [PORT]");
    process.exit(2);
  }
  const server = new TLSEchoServer(new TLSContext({ certFile, keyFile }), host, Number(port));
  console.error(`TLS echo server listening on ${describe(server.address)}`);
  await loop();
}
