// Line echo server on this library's AsyncChat: each "\n"-terminated line is collected and
// pushed back with its "\n".
//
//   node dist/bench/servers/asyncore-chat-echo.js PORT
//
// The pieces collectIncomingData() receives are pushed back as they are, then the "\n": AsyncChat
// sends a pass's pushes in one gather-write, so the line is never joined (a join would copy it).
import { AsyncChat } from "../../src/asynchat.js";
import { loop, Socket } from "../../src/index.js";
import { Listener } from "./listener.js";

const NEWLINE = Buffer.from("\n");

class LineEcho extends AsyncChat {
  private pieces: Buffer[] = [];

  constructor(sock: Socket) {
    super(sock);
    this.setTerminator("\n");
  }

  override collectIncomingData(data: Buffer): void {
    this.pieces.push(data);
  }

  override foundTerminator(): void {
    for (const piece of this.pieces) this.push(piece);
    this.pieces = [];
    this.push(NEWLINE);
  }
}

new Listener(Number(process.argv[2]), (sock) => new LineEcho(sock));
await loop();
