// A TLS echo server and client on the library, for the TLS tests: each channel records how it
// ended (closeError) so that a test can assert on failures as well as on bytes.
import { Dispatcher } from "../../src/dispatcher.js";
import type { SocketMap } from "../../src/loop.js";
import type { Socket } from "../../src/socket.js";
import { type TLSContext, TLSDispatcherWithSend, type TLSInfo } from "../../src/tls.js";

export interface Ended {
  error: Error | null;
  received: Buffer;
}

export class EchoHandler extends TLSDispatcherWithSend {
  secured = false;
  /** Bytes asked of each recv(): a small size leaves most of a record inside OpenSSL. */
  readSize = 65536;
  constructor(sock: Socket, ctx: TLSContext, map: SocketMap, readonly onEnd: (e: Ended) => void) {
    super(sock, map);
    this.wrap(ctx, { serverSide: true });
  }
  override handleHandshake(): void {
    this.secured = true;
  }
  override handleRead(): void {
    const data = this.recv(this.readSize);
    if (data.length > 0) this.send(data);
  }
  override handleError(err: unknown): void {
    this.closeError ??= err as Error;
    this.handleClose();
  }
  override handleClose(): void {
    this.close();
    this.onEnd({ error: this.closeError, received: Buffer.alloc(0) });
  }
}

export class EchoServer extends Dispatcher {
  readonly ended: Ended[] = [];
  readonly handlers: EchoHandler[] = [];
  readSize = 65536;
  constructor(readonly ctx: TLSContext, map: SocketMap) {
    super(null, map);
    this.createSocket();
    this.setReuseAddr();
    this.bind(["127.0.0.1", 0]);
    this.listen(1024);
  }
  get port(): number {
    return (this.socket as Socket).getsockname()[1] as number;
  }
  override handleAccepted(sock: Socket): void {
    const h = new EchoHandler(sock, this.ctx, this._map, (e) => this.ended.push(e));
    h.readSize = this.readSize;
    this.handlers.push(h);
  }
}

/** Sends `payload` once secure and collects the echo until it has it all, then closes. */
export class EchoClient extends TLSDispatcherWithSend {
  readonly chunks: Buffer[] = [];
  received = 0;
  ended: Ended | null = null;
  info: TLSInfo | null = null;
  constructor(ctx: TLSContext, port: number, map: SocketMap, readonly payload: Buffer, serverName?: string, host = "127.0.0.1") {
    super(null, map);
    this.createSocket();
    this.connect([host, port], ctx, serverName === undefined ? {} : { serverName });
  }
  override handleConnect(): void {
    this.info = this.tlsInfo();
    if (this.payload.length > 0) this.send(this.payload);
    else this.close();
  }
  override handleRead(): void {
    const data = this.recv(65536);
    if (data.length === 0) return;
    this.chunks.push(data);
    this.received += data.length;
    if (this.received >= this.payload.length) this.#end(true);
  }
  override handleError(err: unknown): void {
    this.closeError ??= err as Error;
    this.#end(false);
  }
  override handleClose(): void {
    this.#end(false);
  }
  #end(graceful: boolean): void {
    if (this.ended !== null) return;
    if (graceful) this.tlsShutdown();
    else this.close();
    this.ended = { error: this.closeError, received: Buffer.concat(this.chunks) };
  }
}
