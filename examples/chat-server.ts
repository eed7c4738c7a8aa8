// A line-based chat server on AsyncChat: every line a client sends is passed on to all the other
// clients, prefixed with the sender's address. Lines from the server itself start with "* ":
//
//   * welcome 127.0.0.1:40512, 2 connected       (to a client that joins)
//   * 127.0.0.1:40512 joined                     (to the others)
//   <127.0.0.1:40512> hello everyone             (to the others)
//   * 127.0.0.1:40512 left                       (to the others)
//
// Run it:      node dist/examples/chat-server.js [HOST] [PORT]        (localhost 8080)
//              (or: npx asyncore chat-server --port 8080)
// Talk to it:  npx asyncore chat-client --port 8080      (one per terminal), or nc localhost 8080
// The server prints one line when a client joins or leaves.
//
// AsyncChat cuts the input at the terminator ("\n") and calls collectIncomingData() with the
// pieces and foundTerminator() at each end of line. Two bounds keep a misbehaving client from
// growing the server's memory without limit: maxInputCollected closes a client that sends more
// than MAX_LINE bytes without a newline, and a client that stops reading is dropped once
// MAX_QUEUED lines wait for it.
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, type Address, Dispatcher, SOMAXCONN, type Socket, type SocketMap, loop } from "../src/index.js";
import { AsyncChat } from "../src/asynchat.js";

/** The longest line a client may send (bytes before the newline). */
export const MAX_LINE = 64 * 1024;
/** The most lines waiting to be sent to one client. */
export const MAX_QUEUED = 1000;

const NEWLINE = Buffer.from("\n");

/** One connected client. */
export class ChatSession extends AsyncChat {
  readonly server: ChatServer;
  /** "127.0.0.1:40512": how the others see this client. */
  readonly name: string;
  #line: Buffer[] = [];

  constructor(sock: Socket, name: string, server: ChatServer) {
    super(sock, server.map);
    this.server = server;
    this.name = name;
    this.setTerminator("\n");
    this.maxInputCollected = MAX_LINE;
  }

  override collectIncomingData(data: Buffer): void {
    this.#line.push(data);
  }

  override foundTerminator(): void {
    let line = Buffer.concat(this.#line);
    this.#line = [];
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);  // "\r\n" from telnet-style clients
    this.server.broadcast(this, line);
  }

  /** Queues one line for this client, or drops the client when it has stopped reading. */
  sendLine(line: Buffer): void {
    if (this.fileno() === null) return;  // already gone (dropped earlier in this broadcast)
    if (this._producerFifo.length >= this.server.maxQueued) {
      this.server.print(`${this.name} is not reading: disconnected`);
      this.handleClose();
      return;
    }
    this.push(line);
  }

  /** Idle for idleTimeout seconds (nothing read or sent): one line, then it leaves. */
  override handleTimeout(): void {
    this.server.print(`${this.name} idle for ${this.idleTimeout} s: disconnected`);
    this.handleClose();
  }

  override handleClose(): void {
    this.close();
    this.server.leave(this);
  }
}

/** Listens on host:port; keeps the set of connected sessions. */
export class ChatServer extends Dispatcher {
  readonly map: SocketMap | undefined;
  readonly sessions = new Set<ChatSession>();
  /** The most lines waiting for one client before it is dropped. */
  maxQueued = MAX_QUEUED;
  /** Where join/leave lines go (Python's print). */
  print: (line: string) => void = (line) => console.log(line);
  /** The idle timeout (seconds) each session gets; null: none. */
  connectionIdleTimeout: number | null = null;

  constructor(host: string, port: number, map?: SocketMap) {
    super(null, map);
    this.map = map;
    this.createSocket(net.isIPv6(host) ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(SOMAXCONN);
  }

  /** The address actually bound (with the real port when it was 0). */
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleAccepted(sock: Socket, addr: Address): void {
    const session = new ChatSession(sock, formatAddress(addr), this);
    session.idleTimeout = this.connectionIdleTimeout;
    this.sessions.add(session);
    this.print(`${session.name} joined (${this.sessions.size} connected)`);
    session.sendLine(Buffer.from(`* welcome ${session.name}, ${this.sessions.size} connected\n`));
    this.#toOthers(session, Buffer.from(`* ${session.name} joined\n`));
  }

  /** Sends `line` from `from` to every other session. */
  broadcast(from: ChatSession, line: Buffer): void {
    this.#toOthers(from, Buffer.concat([Buffer.from(`<${from.name}> `), line, NEWLINE]));
  }

  /**
   * Takes `session` out of the set and tells the others. A "left" line can drop another client
   * that is not reading, whose own "left" line can drop a third...: those are told in turn, from
   * a queue, not from inside one another (no recursion as deep as the number of clients).
   */
  leave(session: ChatSession): void {
    if (!this.sessions.delete(session)) return;
    this.#leaving.push(session);
    if (this.#leaving.length > 1) return;  // the loop below, further up the stack, will tell them
    for (let i = 0; i < this.#leaving.length; i++) {
      const gone = this.#leaving[i]!;
      this.print(`${gone.name} left (${this.sessions.size} connected)`);
      this.#toOthers(gone, Buffer.from(`* ${gone.name} left\n`));
    }
    this.#leaving = [];
  }

  #leaving: ChatSession[] = [];

  #toOthers(from: ChatSession, message: Buffer): void {
    for (const session of [...this.sessions]) {
      if (session !== from && this.sessions.has(session)) session.sendLine(message);
    }
  }

  /** Closes the server and every session. */
  override close(): void {
    super.close();
    for (const session of [...this.sessions]) session.handleClose();
  }
}

function formatAddress(addr: Address): string {
  if (typeof addr === "string") return addr;
  return addr[0].includes(":") ? `[${addr[0]}]:${addr[1]}` : `${addr[0]}:${addr[1]}`;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "localhost", port = "8080"] = process.argv.slice(2);
  const server = new ChatServer(host, Number(port));
  console.error(`chat server listening on ${formatAddress(server.address)}`);
  await loop();
}
