// A line chat server on AsyncChat, and a TLS variant: `asyncore/asynchat`, `asyncore/tls`.
import { type Address, Dispatcher, type Socket, type SocketMap, closeAll, loop } from "asyncore";
import { AsyncChat, type Producer, SimpleProducer, type Terminator } from "asyncore/asynchat";
import { TLSAsyncChat, TLSContext, type TLSInfo } from "asyncore/tls";

class ChatHandler extends AsyncChat {
  readonly #lines: Buffer[] = [];

  constructor(sock: Socket, map: SocketMap, readonly room: ChatServer) {
    super(sock, map);
    this.setTerminator("\n");
    this.outputHighWater = 64 * 1024;
  }

  override collectIncomingData(data: Buffer): void {
    this.#lines.push(data);
  }

  override foundTerminator(): void {
    const line = Buffer.concat(this.#lines);
    this.#lines.length = 0;
    const who = this.socket?.getpeername() ?? "?";
    this.room.broadcast(this, Buffer.from(`<${String(who)}> ${line.toString("latin1")}\n`, "latin1"));
    const t: Terminator = this.getTerminator();
    if (t === null) this.closeWhenDone();
  }

  override handleClose(): void {
    if (this.closeError !== null) console.error(this.closeError.message);
    this.close();
  }
}

class ChatServer extends Dispatcher {
  readonly clients = new Set<ChatHandler>();

  constructor(address: Address, readonly channels: SocketMap = new Map()) {
    super(null, channels);
    this.createSocket();
    this.bind(address);
    this.listen(16);
  }

  override handleAccepted(sock: Socket, _addr: Address): void {
    const client = new ChatHandler(sock, this.channels, this);
    client.idleTimeout = 300;
    this.clients.add(client);
  }

  broadcast(from: ChatHandler, line: Buffer): void {
    for (const c of this.clients) if (c !== from) c.push(line);
  }
}

class Greeting implements Producer {
  #sent = false;
  more(): Uint8Array {
    if (this.#sent) return new Uint8Array(0);
    this.#sent = true;
    return Buffer.from("welcome\n");
  }
}

class SecureChat extends TLSAsyncChat {
  override handleHandshake(): void {
    const info: TLSInfo | null = this.tlsInfo();
    this.pushWithProducer(new Greeting());
    this.pushWithProducer(new SimpleProducer(Buffer.from(`${info?.version ?? ""}\n`)));
  }
  override foundTerminator(): void {}
  override collectIncomingData(_data: Buffer): void {}
}

const server = new ChatServer(["127.0.0.1", 0]);
const context = new TLSContext({ certFile: "cert.pem", keyFile: "key.pem", minVersion: "TLSv1.2" });
export function secure(sock: Socket): SecureChat {
  const chat = new SecureChat(sock, server.channels);
  chat.wrap(context, { serverSide: true });
  return chat;
}
await loop({ map: server.channels, timeout: 30 });
closeAll(server.channels);
