// A line-based chat client on AsyncChat, for the chat server in chat-server.ts (or any server
// that speaks lines): say() sends a line, and every line received goes to handleLine().
//
// Run it:  node dist/examples/chat-client.js [HOST] [PORT]     (localhost 8080)
//          (or: npx asyncore chat-client --port 8080)
// Lines typed on stdin are sent; lines received are printed. At the end of stdin (Ctrl-D) the
// client tells the server it has nothing more to send, and ends when the server closes.
import net from "node:net";
import readline from "node:readline";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, SHUT_WR, SOL_SOCKET, SO_ERROR, type Socket, type SocketMap, loop } from "../src/index.js";
import { AsyncChat } from "../src/asynchat.js";

const EMPTY = Buffer.alloc(0);

/** The longest line accepted from the server. */
export const MAX_LINE = 64 * 1024;

export class ChatClient extends AsyncChat {
  /** Every line received, in order (without the newline). */
  readonly lines: string[] = [];
  /** What ended the connection early, if something did (a refused connection, a reset). */
  error: unknown = null;
  /** Where received lines go (Python's print). */
  print: (line: string) => void = (line) => console.log(line);
  #line: Buffer[] = [];
  #outputEnded = false;
  #reading = false;

  constructor(address: readonly [host: string, port: number], map?: SocketMap) {
    super(null, map);
    this.createSocket(net.isIPv6(address[0]) ? AF_INET6 : AF_INET);
    this.connect(address);
    this.setTerminator("\n");
    this.maxInputCollected = MAX_LINE;
  }

  /** Sends one line (a newline is added). Lines said before the connection is made are queued. */
  say(line: string): void {
    this.push(Buffer.from(`${line}\n`));
  }

  /**
   * Once everything queued so far has been sent, shuts the socket down for writing: the server
   * sees the end of the stream and can still answer what it got. (The queue hands a producer
   * its turn only after all that was pushed before it has gone out.)
   */
  endOutput(): void {
    this.pushWithProducer({
      more: () => {
        this.#outputEnded = true;
        try {
          (this.socket as Socket).shutdown(SHUT_WR);
        } catch {
          // ENOTCONN: the server has already gone, nothing to tell it
        }
        return EMPTY;
      },
    });
  }

  override handleConnect(): void {}

  override collectIncomingData(data: Buffer): void {
    this.#line.push(data);
  }

  override foundTerminator(): void {
    let line = Buffer.concat(this.#line).toString("utf8");
    this.#line = [];
    if (line.endsWith("\r")) line = line.slice(0, -1);
    this.lines.push(line);
    this.handleLine(line);
  }

  /** Called with each line received; prints it by default. */
  handleLine(line: string): void {
    this.print(line);
  }

  override handleRead(): void {
    this.#reading = true;
    try {
      super.handleRead();
    } finally {
      this.#reading = false;
    }
  }

  /**
   * After endOutput(), a poll-style pass reports a hang-up as soon as the server has closed too,
   * possibly before everything it sent has been read: reading goes on until recv() finds the
   * end of the stream. Any other close (the end of the stream, a reset) closes at once.
   */
  override handleClose(): void {
    if (this.#outputEnded && !this.#reading && this.#pendingError() === 0) return;
    this.close();
  }

  #pendingError(): number {
    try {
      return (this.socket as Socket).getsockopt(SOL_SOCKET, SO_ERROR);
    } catch {
      return -1;
    }
  }

  override handleError(err: unknown): void {
    this.error = err;
    this.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "localhost", port = "8080"] = process.argv.slice(2);
  const client = new ChatClient([host, Number(port)]);
  const input = readline.createInterface({ input: process.stdin });
  input.on("line", (line) => client.say(line));
  input.on("close", () => client.endOutput());
  await loop();
  input.close();
  process.stdin.destroy();
  if (client.error !== null) {
    console.error(`error: ${client.error instanceof Error ? client.error.message : String(client.error)}`);
    process.exitCode = 1;
  }
}
