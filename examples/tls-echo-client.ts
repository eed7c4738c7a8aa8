// The echo client of the asyncore tutorial, under TLS: connect(address, context) connects, then
// handshakes in the loop; handleConnect() runs once the channel is secure, and the server's
// certificate has been checked against the host name (verification is on by default).
//
// Run it:  node dist/examples/tls-echo-client.js HOST PORT CA [MESSAGE...]
//          CA: a PEM file to trust (a self-signed server's own certificate), or "system".
// Prints one line per read ("c1 recv 5: hello"); a refused certificate prints why and exits 1:
//
//   c1: TLS certificate verification failed: certificate verify failed: Hostname mismatch
import { pathToFileURL } from "node:url";
import { type SocketMap, loop } from "../src/index.js";
import { TLSContext, TLSDispatcherWithSend } from "../src/tls.js";

export class TLSEchoClient extends TLSDispatcherWithSend {
  readonly chunks: Buffer[] = [];
  received = 0;
  print: (line: string) => void = (line) => console.log(line);

  constructor(address: readonly [host: string, port: number], context: TLSContext, readonly message: Buffer, map?: SocketMap, readonly name = "client") {
    super(null, map);
    this.createSocket();
    this.connect([address[0], address[1]], context);  // the host is also the name verified
  }

  get complete(): boolean {
    return this.received >= this.message.length;
  }

  override handleConnect(): void {
    this.send(this.message);  // queued by DispatcherWithSend, sent as OpenSSL takes it
  }

  override handleRead(): void {
    const data = this.recv(16384);
    if (data.length === 0) return;  // a partial record, or the end (handleClose() was called)
    this.chunks.push(data);
    this.received += data.length;
    this.print(`${this.name} recv ${data.length}: ${data.toString()}`);
    if (this.complete) this.tlsShutdown();  // close_notify both ways, then closed
  }

  override handleClose(): void {
    this.close();
  }

  override handleError(err: unknown): void {
    this.closeError ??= err instanceof Error ? err : new Error(String(err));
    this.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "localhost", port = "8443", ca = "system", ...messages] = process.argv.slice(2);
  if (messages.length === 0) messages.push("hello over TLS");
  const context = new TLSContext(ca === "system" ? {} : { caFile: ca });
  const map: SocketMap = new Map();
  const clients = messages.map((m, i) => new TLSEchoClient([host, Number(port)], context, Buffer.from(m), map, `c${i + 1}`));
  await loop({ map, timeout: 0.5 });
  for (const c of clients) {
    if (!c.complete) {
      console.error(`${c.name}: ${c.closeError?.message ?? `got ${c.received} of ${c.message.length} bytes back`}`);
      process.exitCode = 1;
    }
  }
}
