// TLS echo server on this library: the asyncore-echo.ts design under asyncore/tls, one
// TLSDispatcherWithSend per connection wrapped server-side, echoing what recv(16384) returns.
//
//   node dist/bench/servers/asyncore-tls-echo.js PORT CERT KEY CIPHERSUITE
import { loop } from "../../src/index.js";
import { TLSContext, TLSDispatcherWithSend } from "../../src/tls.js";
import { Listener } from "./listener.js";

class TLSEchoHandler extends TLSDispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(16384);  // one TLS record's plaintext at most
    if (data.length) this.send(data);
  }

  // A failed handshake (the driver's port probe speaks no TLS) closes that connection only.
  override handleError(): void {
    this.close();
  }
}

const [port, certFile, keyFile, suite] = process.argv.slice(2);
const context = new TLSContext({ certFile, keyFile, minVersion: "TLSv1.3", cipherSuites: suite! });
new Listener(Number(port), (sock) => new TLSEchoHandler(sock).wrap(context, { serverSide: true }));
await loop();
