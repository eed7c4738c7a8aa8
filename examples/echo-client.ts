// The echo client of the asyncore tutorial: connects, writes its message while writable() says
// there is something left to write, and prints what comes back.
//
// Run it:  node dist/examples/echo-client.js [HOST] [PORT] [MESSAGE...]   (localhost 8080 abcdefg hijklmn)
//          (or: npx asyncore echo-client --port 8080 --message hello --count 2)
// Prints one line per read, for instance:
//
//   c1 recv 7: abcdefg
//   c2 recv 7: hijklmn
//
// The tutorial ran its two clients with `loop(count=2)` and asked why the data received was
// "often incomplete": two passes end the loop before the echo has arrived. Here each client
// closes itself once it has read back as many bytes as it sent (or when the server closes), and
// the loop runs until the map is empty. Like the tutorial, the clients live in a map of their own
// (a plain new Map()) handed to their constructors and to loop().
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, Dispatcher, type SocketMap, loop } from "../src/index.js";

export class EchoClient extends Dispatcher {
  /** The bytes still to be written. */
  pending: Buffer;
  /** How many bytes were sent in all (and so are expected back). */
  readonly expected: number;
  /** What came back, read by read. */
  readonly chunks: Buffer[] = [];
  received = 0;
  /** What ended the exchange early, if something did (a refused connection, a reset). */
  error: unknown = null;
  /** Where each read is reported (Python's print). */
  print: (line: string) => void = (line) => console.log(line);

  constructor(address: readonly [host: string, port: number], data: Uint8Array, map?: SocketMap, readonly name = "client") {
    super(null, map);
    this.pending = Buffer.from(data);
    this.expected = data.length;
    this.createSocket(net.isIPv6(address[0]) ? AF_INET6 : AF_INET);
    this.connect(address);
  }

  /** Everything read back, in one Buffer. */
  get reply(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** True once all that was sent has come back. */
  get complete(): boolean {
    return this.received >= this.expected;
  }

  override handleConnect(): void {
    if (this.expected === 0) this.close();  // nothing to send, so nothing to wait for
  }

  override writable(): boolean {
    // Until connected too: the end of a non-blocking connect shows as writability.
    return !this.connected || this.pending.length > 0;
  }

  override handleWrite(): void {
    const sent = this.send(this.pending);
    this.pending = this.pending.subarray(sent);
  }

  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length === 0) return;  // end of stream: recv() has already called handleClose()
    this.chunks.push(data);
    this.received += data.length;
    this.print(`${this.name} recv ${data.length}: ${data.toString()}`);
    if (this.complete) this.close();
  }

  override handleClose(): void {
    this.close();
  }

  /** A failed connect or a reset ends this client only: keep the error for the caller, close. */
  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "localhost", port = "8080", ...messages] = process.argv.slice(2);
  if (messages.length === 0) messages.push("abcdefg", "hijklmn");
  const map: SocketMap = new Map();
  const clients = messages.map((m, i) => new EchoClient([host, Number(port)], Buffer.from(m), map, `c${i + 1}`));
  await loop({ usePoll: true, map, timeout: 0.5 });
  for (const c of clients) {
    if (!c.complete) {
      console.error(`${c.name}: got ${c.received} of ${c.expected} bytes back${c.error ? ` (${String(c.error)})` : ""}`);
      process.exitCode = 1;
    }
  }
}
