// The documentation's echo server, as a user writes it against the installed package.
import { type Address, Dispatcher, DispatcherWithSend, type Socket, loop } from "asyncore";

class EchoHandler extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length > 0) this.send(data);
  }
}

class EchoServer extends Dispatcher {
  constructor(host: string, port: number) {
    super();
    this.createSocket();
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(5);
  }

  /** The port the kernel picked: the socket is a Socket, no cast needed. */
  port(): number | null {
    const local = this.socket?.getsockname();
    return Array.isArray(local) ? (local[1] ?? null) : null;
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    console.log(`Incoming connection from ${String(addr)} (${String(sock.getpeername())})`);
    new EchoHandler(sock);
  }
}

const server = new EchoServer("localhost", 0);
console.log(server.port());
const stop = new AbortController();
await loop({ timeout: 1, signal: stop.signal });
