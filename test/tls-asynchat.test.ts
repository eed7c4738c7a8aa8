// TLSAsyncChat: a line protocol over TLS on both ends. Pushes made before the channel is secure
// go out once it is; closeWhenDone() ends with close_notify.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Dispatcher } from "../src/dispatcher.js";
import type { SocketMap } from "../src/loop.js";
import type { Socket } from "../src/socket.js";
import { TLSAsyncChat, TLSContext } from "../src/tls.js";
import { POLLERS } from "./helpers/pollers.js";
import { certs, opensslSkipReason } from "./helpers/tls-certs.js";
import { runUntil } from "./helpers/tls-run.js";

const skip = opensslSkipReason() ?? false;

class Shouter extends TLSAsyncChat {
  #line: Buffer[] = [];
  closedWith: Error | null | undefined = undefined;
  constructor(sock: Socket, ctx: TLSContext, map: SocketMap) {
    super(sock, map);
    this.wrap(ctx, { serverSide: true });
    this.setTerminator("\n");
  }
  override collectIncomingData(data: Buffer): void {
    this.#line.push(data);
  }
  override foundTerminator(): void {
    const line = Buffer.concat(this.#line).toString();
    this.#line = [];
    if (line === "QUIT") {
      this.push(Buffer.from("BYE\n"));
      this.closeWhenDone();
    } else {
      this.push(Buffer.from(`${line.toUpperCase()}\n`));
    }
  }
  override handleClose(): void {
    this.closedWith ??= this.closeError;
    this.close();
  }
}

class Listener extends Dispatcher {
  readonly chats: Shouter[] = [];
  constructor(readonly ctx: TLSContext, map: SocketMap) {
    super(null, map);
    this.createSocket();
    this.bind(["127.0.0.1", 0]);
    this.listen(16);
  }
  override handleAccepted(sock: Socket): void {
    this.chats.push(new Shouter(sock, this.ctx, this._map));
  }
}

class Talker extends TLSAsyncChat {
  lines: string[] = [];
  #buf: Buffer[] = [];
  done = false;
  constructor(ctx: TLSContext, port: number, map: SocketMap, words: string[]) {
    super(null, map);
    this.createSocket();
    this.setTerminator(Buffer.from("\n"));
    this.connect(["localhost", port], ctx);
    // Pushed before TCP is even connected: sent once the channel is secure.
    for (const w of words) this.push(Buffer.from(`${w}\n`));
    this.push(Buffer.from("QUIT\n"));
  }
  override handleConnect(): void {}
  override collectIncomingData(data: Buffer): void {
    this.#buf.push(data);
  }
  override foundTerminator(): void {
    this.lines.push(Buffer.concat(this.#buf).toString());
    this.#buf = [];
  }
  override handleClose(): void {
    this.done = true;
    this.close();
  }
}

for (const mode of POLLERS) {
  describe(`TLSAsyncChat, ${mode.name}`, { skip }, () => {
    test("lines pushed before the handshake are answered in order; closeWhenDone() ends cleanly", { timeout: 20_000 }, async () => {
      const c = certs().localhost;
      const map: SocketMap = new Map();
      const server = new Listener(new TLSContext({ cert: c.cert, key: c.key }), map);
      const port = (server.socket as Socket).getsockname()[1] as number;
      const words = Array.from({ length: 500 }, (_, i) => `word ${i} ${"x".repeat(i % 97)}`);
      const client = new Talker(new TLSContext({ ca: c.cert }), port, map, words);
      await runUntil(map, mode.usePoll, () => client.done);
      assert.equal(client.closeError, null, String(client.closeError));
      assert.deepEqual(client.lines, [...words.map((w) => w.toUpperCase()), "BYE"]);
      assert.equal(server.chats[0]!.closedWith ?? null, null);
    });
  });
}
