// A UDP echo client: sends its datagrams one at a time to an echo server and checks that each
// comes back whole, resending one whose answer does not come within its timeout (UDP may lose it).
//
// Run it:  node dist/examples/udp-echo-client.js [HOST] [PORT] [MESSAGE...]   (127.0.0.1 8080 hello)
//          (or: npx asyncore udp-echo-client --port 8080 hello world)
// Prints one line per answer:
//
//   recv 5: hello
//
// The socket is connected to the server (connect() on a datagram socket only sets its peer), so
// datagrams from anyone else are not delivered to it, and a server that is not there shows as
// ECONNREFUSED (the kernel's ICMP "port unreachable") instead of a silent wait.
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, type Address, DatagramDispatcher, type SocketMap, loop } from "../src/index.js";

export interface UdpEchoClientOptions {
  /** Seconds to wait for an answer before the datagram is sent again (default 1). */
  timeout?: number;
  /** How many times a datagram is sent again before the client gives up (default 3). */
  retries?: number;
}

export class UdpEchoClient extends DatagramDispatcher {
  /** The answers, one per datagram, in order. */
  readonly replies: Buffer[] = [];
  /** What ended the exchange early: no answer, a wrong answer, a refused port. */
  error: Error | null = null;
  /** Datagrams sent again after a timeout. */
  resent = 0;
  /** Where each answer is reported (Python's print). */
  print: (line: string) => void = (line) => console.log(line);
  readonly #messages: readonly Buffer[];
  readonly #retries: number;
  #tries = 0;

  constructor(address: readonly [host: string, port: number], messages: readonly Uint8Array[], map?: SocketMap, options: UdpEchoClientOptions = {}) {
    super(null, map);
    this.#messages = messages.map((m) => Buffer.from(m));
    this.#retries = options.retries ?? 3;
    this.createSocket(net.isIPv6(address[0]) ? AF_INET6 : AF_INET);
    this.idleTimeout = options.timeout ?? 1;
    this.connect(address);
  }

  /** True once every datagram has come back. */
  get complete(): boolean {
    return this.replies.length === this.#messages.length;
  }

  override handleConnect(): void {
    this.#sendCurrent();
  }

  override handleDatagram(data: Buffer, _from: Address): void {
    const expected = this.#messages[this.replies.length];
    if (expected === undefined || !data.equals(expected)) {
      // A late answer to a datagram that was sent again and already answered: not an error.
      if (this.#messages.slice(0, this.replies.length).some((m) => m.equals(data))) return;
      this.#fail(new Error(`datagram ${this.replies.length + 1}: sent ${expected?.length ?? 0} bytes, got back ${data.length} different bytes`));
      return;
    }
    this.replies.push(data);
    this.print(`recv ${data.length}: ${data.length <= 80 ? data.toString() : `${data.subarray(0, 40).toString()}...`}`);
    this.#tries = 0;
    this.#sendCurrent();
  }

  override handleTimeout(): void {
    if (this.#tries > this.#retries) {
      this.#fail(new Error(`datagram ${this.replies.length + 1}: no answer after ${this.#tries} tries of ${this.idleTimeout} s`));
      return;
    }
    this.resent++;
    this.idleTimeout = this.idleTimeout;  // a new period for the datagram sent again
    this.#sendCurrent();
  }

  override handleClose(): void {
    if (!this.complete && this.error === null) this.error = this.closeError ?? new Error("closed before every answer came");
    this.close();
  }

  /** A refused port, a failed send: the exchange ends, the error stays for the caller. */
  override handleError(err: unknown): void {
    this.#fail(err instanceof Error ? err : new Error(String(err)));
  }

  #sendCurrent(): void {
    const next = this.#messages[this.replies.length];
    if (next === undefined) {
      this.close();
      return;
    }
    this.#tries++;
    this.sendto(next);
  }

  #fail(err: Error): void {
    this.error ??= err;
    this.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "127.0.0.1", port = "8080", ...words] = process.argv.slice(2);
  const messages = (words.length > 0 ? words : ["hello"]).map((w) => Buffer.from(w));
  const client = new UdpEchoClient([host, Number(port)], messages);
  await loop();
  if (client.error !== null) {
    console.error(`udp echo client: ${client.error.message}`);
    process.exitCode = 1;
  }
}
