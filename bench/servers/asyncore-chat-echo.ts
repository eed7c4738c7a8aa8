// Line echo server on this library's AsyncChat: each "\n"-terminated line is collected and
// pushed back with its "\n".
//
//   node dist/bench/servers/asyncore-chat-echo.js PORT
import { AsyncChat } from "../../src/asynchat.js";
import { loop, Socket } from "../../src/index.js";
import { Listener } from "./listener.js";

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

new Listener(Number(process.argv[2]), (sock) => new LineEcho(sock));
await loop();
