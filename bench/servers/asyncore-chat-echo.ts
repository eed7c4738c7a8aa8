// Line echo server on this library's AsyncChat: each "\n"-terminated line is collected and
// pushed back with its "\n".
//
//   node dist/bench/servers/asyncore-chat-echo.js PORT
import { AsyncChat } from "../../src/asynchat.js";
import { Dispatcher, loop, Socket, type Address } from "../../src/index.js";

class LineEcho extends AsyncChat {
  private chunks: Buffer[] = [];

  constructor(sock: Socket) {
    super(sock);
    this.setTerminator("\n");
  }

  override collectIncomingData(data: Buffer): void {
    this.chunks.push(data);
  }

  override foundTerminator(): void {
    const line = Buffer.concat(this.chunks);
    this.chunks = [];
    this.push(Buffer.concat([line, NEWLINE]));
  }
}

const NEWLINE = Buffer.from("\n");

class LineEchoServer extends Dispatcher {
  constructor(host: string, port: number) {
    super();
    this.createSocket();
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(1024);
  }

  override handleAccepted(sock: Socket, _addr: Address): void {
    new LineEcho(sock);
  }
}

new LineEchoServer("127.0.0.1", Number(process.argv[2]));
await loop();
