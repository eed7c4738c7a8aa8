// The documentation's HTTP client (Python's asyncore example), with the error guard.
import { AF_INET, Dispatcher, SOCK_STREAM, isSystemError, loop } from "asyncore";

class HTTPClient extends Dispatcher {
  buffer: Buffer;

  constructor(host: string, path: string) {
    super();
    this.createSocket(AF_INET, SOCK_STREAM);
    this.connect([host, 80]);
    this.buffer = Buffer.from(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`, "latin1");
  }

  override handleConnect(): void {
    console.log("connected to", this.socket?.getpeername());
  }

  override handleClose(): void {
    this.close();
  }

  override handleRead(): void {
    process.stdout.write(this.recv(8192));
  }

  override writable(): boolean {
    return this.buffer.length > 0;
  }

  override handleWrite(): void {
    const sent = this.send(this.buffer);
    this.buffer = this.buffer.subarray(sent);
  }

  override handleError(err: unknown): void {
    if (isSystemError(err)) {
      // Node's shape: connect ECONNREFUSED 127.0.0.1:80
      const where: string = err.port === undefined ? (err.address ?? "") : `${err.address ?? ""}:${err.port}`;
      console.error(err.syscall, err.code, err.errno, where);
    }
    super.handleError(err);
  }
}

new HTTPClient("www.python.org", "/");
await loop({ count: 10, usePoll: true, timeout: null });
